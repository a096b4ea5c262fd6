// core/mm: memory layout, page allocator, kmalloc, user address spaces.
export * from './page-alloc';
export * from './kmalloc';
export * from './memblock';
export * from './user-mm';
export * from './mm';
