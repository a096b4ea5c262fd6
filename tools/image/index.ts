// tools/image: guest images. `buildImage` bundles a guest program into a GYTS image
// (firmware/hypervisor/image/README.md); `builtinImage` builds (and caches) the bundled example guests.
export { buildImage, ImageBuildError, type BuildImageOptions, type BuiltImage } from './build-image';
export { builtinImage, builtinImageNames, loadImageRef, BUILTIN_PREFIX } from './builtin-images';
