// Counts its own evaluations: a module reached by two paths runs once.
globalThis.__compatCounterLoads = (globalThis.__compatCounterLoads || 0) + 1;
module.exports = { loads: () => globalThis.__compatCounterLoads, topThis: this === module.exports };
