//! lbnic host driver: getting at the device and the flash protocol.
//!
//! - [`access`]: the [`DeviceAccess`] trait (register and aperture access,
//!   bounds-checked);
//! - [`spec`]: device specs (`vfio:`, `shm:`, `model`) and opening the bus
//!   backends;
//! - [`vfio`], [`shm`]: the two bus backends (the in-process model and the
//!   device side of a shared-memory file live in `hw-emu`, so the driver
//!   does not depend on the simulator);
//! - [`driver`]: the protocol of spec §3/§4 (identify, flash with commit
//!   and read-back, delta flashing, verify, stats, conntrack);
//! - [`delta`], [`records`]: what a delta writes, and what the host knows
//!   each bank holds;
//! - [`pci`]: PCI devices, drivers and IOMMU groups from sysfs;
//! - [`mmio`]: the only module with `unsafe` code (mapped windows).

#![deny(unsafe_code)]

pub mod access;
pub mod delta;
pub mod driver;
#[allow(unsafe_code)]
pub mod mmio;
pub mod pci;
pub mod records;
pub mod shm;
pub mod spec;
pub mod vfio;

pub use access::{AccessError, DeviceAccess};
pub use driver::{Driver, DriverError, FlashOptions, FlashReport, Identity, Stats, VerifyReport};
pub use spec::{open, DeviceSpec, OpenError};
