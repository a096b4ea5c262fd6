// Managed device resources (devres): a stack of named undo steps a probe pushes as it acquires things;
// a failed probe and a remove both release them in reverse order.

export interface DevresEntry {
  readonly name: string;
  readonly release: () => void | Promise<void>;
}

export class Devres {
  private readonly stack: DevresEntry[] = [];

  /** Register the undo step of something just acquired. */
  add(name: string, release: () => void | Promise<void>): void {
    this.stack.push({ name, release });
  }

  /** Names of the held resources, oldest first. */
  get names(): string[] {
    return this.stack.map((e) => e.name);
  }

  get size(): number {
    return this.stack.length;
  }

  /**
   * Release everything, newest first. A failing step does not stop the others; the failures are
   * returned (name and error) for the caller to log.
   */
  async releaseAll(): Promise<{ name: string; error: unknown }[]> {
    const failures: { name: string; error: unknown }[] = [];
    while (this.stack.length > 0) {
      const e = this.stack.pop()!;
      try {
        await e.release();
      } catch (error) {
        failures.push({ name: e.name, error });
      }
    }
    return failures;
  }
}
