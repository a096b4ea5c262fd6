// Where a native app's code comes from. An app is a program exporting an `app` entry point; every
// instantiation is a fresh module instance (per VM device, and again on each restart after a fault),
// so no state survives a restart. Sources: a native-app GYTS image (what `gunyah image build` makes
// of a program that exports `app`: header flag IMAGE_FLAG_NATIVE_APP, entry 0 "app", a CommonJS
// text), the bare program text, or a host-linked factory (unit tests of the host itself).
import type { AppEntry } from './abi';
import { ImageError, parseImage } from '../image/image-format';

/** A loadable app. */
export interface NativeAppImage {
  readonly name: string;
  /** A fresh instance of the program: its `app` entry. Throws NativeAppLoadError. */
  instantiate(): AppEntry;
}

export class NativeAppLoadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NativeAppLoadError';
  }
}

/** Largest app text accepted (an app is a device model, not a kernel). */
export const APP_MAX_TEXT = 4 * 1024 * 1024;

type Program = (module: { exports: unknown }, exports: unknown, require: (id: string) => never) => void;

const noRequire = (id: string): never => {
  throw new NativeAppLoadError(`native apps cannot require ${JSON.stringify(id)}: bundle it`);
};

function entryOf(exp: unknown, name: string): AppEntry {
  const app = exp && (typeof exp === 'object' || typeof exp === 'function') ? (exp as { app?: unknown }).app : undefined;
  if (typeof app !== 'function') throw new NativeAppLoadError(`${name}: the program does not export an \`app\` function`);
  return app as AppEntry;
}

/** An app from a CommonJS program text that sets `module.exports.app`. */
export function appFromText(name: string, text: string): NativeAppImage {
  if (text.length > APP_MAX_TEXT) throw new NativeAppLoadError(`${name}: program text of ${text.length} bytes exceeds ${APP_MAX_TEXT}`);
  let program: Program;
  try {
    program = new Function('module', 'exports', 'require', text) as Program;
  } catch (e) {
    throw new NativeAppLoadError(`${name}: program text does not compile: ${e instanceof Error ? e.message : String(e)}`);
  }
  return {
    name,
    instantiate(): AppEntry {
      const module = { exports: {} as unknown };
      try {
        program(module, module.exports, noRequire);
      } catch (e) {
        if (e instanceof NativeAppLoadError) throw e;
        throw new NativeAppLoadError(`${name}: program initialisation threw: ${e instanceof Error ? e.message : String(e)}`);
      }
      return entryOf(module.exports, name);
    },
  };
}

/**
 * An app from a native-app image: the whole image is checked (header, entry table, CRC) and must
 * be of kind native-app; its text is compiled once here and instantiated afresh for every start.
 */
export function appFromImage(name: string, image: Uint8Array): NativeAppImage {
  let text: string;
  try {
    const p = parseImage(image);
    if (p.header.kind !== 'native-app') throw new NativeAppLoadError(`${name}: a ${p.header.kind} image, not a native app (build a program that exports \`app\` and no \`main\`)`);
    text = p.text;
  } catch (e) {
    if (e instanceof ImageError) throw new NativeAppLoadError(`${name}: ${e.message}`);
    throw e;
  }
  return appFromText(name, text);
}

/** An app whose instances come from a host-linked factory. */
export function appFromFactory(name: string, make: () => AppEntry): NativeAppImage {
  return {
    name,
    instantiate(): AppEntry {
      let e: AppEntry;
      try {
        e = make();
      } catch (err) {
        throw new NativeAppLoadError(`${name}: factory threw: ${err instanceof Error ? err.message : String(err)}`);
      }
      if (typeof e !== 'function') throw new NativeAppLoadError(`${name}: factory did not return an entry function`);
      return e;
    },
  };
}
