// What a native-app program bundles: the entry-point adapter and the device emulators, with no host
// dependencies (no VMM, no kernel), so an app image stays a device model and nothing more.
export { nativeAppEntry } from './native-app-entry';
export * from '../emulators/index';
