//! The `hw-model` device as something host-driver can talk to, kept out of
//! host-driver so the driver does not depend on the simulator (as rust-vmm
//! keeps vfio-ioctls free of any emulator).
//!
//! - [`in_process`]: the model behind host-driver's [`DeviceAccess`]
//!   trait in this process (the `model` device spec);
//! - [`serve`]: the device side of a shared-memory BAR file (`lbnic serve
//!   --shm`), which hosts reach through host-driver's `shm:` backend; the
//!   device behind it is a [`backend::Backend`] (the functional model here,
//!   the RTL simulation in `lbnic-rtl-sim`).
//!
//! [`DeviceAccess`]: host_driver::DeviceAccess

#![forbid(unsafe_code)]

pub mod backend;
pub mod in_process;
pub mod serve;

pub use backend::{Backend, BackendError, FunctionalBackend};

pub use in_process::ModelAccess;
pub use serve::{CommitEvent, ServeError, ShmDevice};
