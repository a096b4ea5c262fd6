// core/of: kernel-side device-tree helpers (dt/ has the of_* queries).
export * from './of-base';
