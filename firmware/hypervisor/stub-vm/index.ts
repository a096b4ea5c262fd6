// Placement C: device emulators in stub VMs (the protocol and the hypervisor's side of the link).
export * from './stub-abi';
export { StubLink, type StubLinkConfig, type StubLinkStats } from './stub-link';
