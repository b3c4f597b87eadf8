/**
 * FUSE file handles → open files. fuse-native takes a handle back as an int32 and treats 0 as "no
 * handle", so handles are 1 … 2^31-1, reused only after wrapping around.
 */
const MAX_HANDLE = 0x7fffffff;
const after = (fd: number): number => (fd === MAX_HANDLE ? 1 : fd + 1);

export class FdTable<T> {
  readonly #files = new Map<number, T>();
  #next = 1;

  add(file: T): number {
    let fd = this.#next;
    while (this.#files.has(fd)) fd = after(fd);
    this.#next = after(fd);
    this.#files.set(fd, file);
    return fd;
  }

  get(fd: number): T | undefined {
    return this.#files.get(fd);
  }

  delete(fd: number): T | undefined {
    const file = this.#files.get(fd);
    this.#files.delete(fd);
    return file;
  }
}
