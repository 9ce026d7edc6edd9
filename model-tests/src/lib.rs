//! Nothing here: this package holds `hw-model`'s integration tests
//! (`tests/`), the simulator bench (`benches/sim.rs`) and the `simspeed`
//! example. They build their images with `table-compiler`; keeping them in a
//! package of their own keeps the model's dependency graph (normal and dev)
//! free of the config parser and compiler (`cargo tree -p hw-model`).
