// core/bus: the device model (platform bus, drivers, devres, register windows).
export * from './driver';
export * from './devres';
export * from './iomem';
export * from './platform-device';
export * from './platform-bus';
export * from './bus.module';
