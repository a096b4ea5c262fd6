// Placement A (device emulators as native apps inside the hypervisor): the ABI, app loading, the host.
export * from './abi';
export { appFromImage, appFromText, appFromFactory, NativeAppLoadError, APP_MAX_TEXT, type NativeAppImage } from './app-image';
export { APP_MAX_GRANTS, type AppGrant } from './app-memory';
export { NativeApp, NativeAppHost, type NativeAppConfig, type NativeAppStats } from './native-app-host';
