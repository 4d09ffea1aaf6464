//! Inventory storage. Sites, buildings and locations are plain enough that
//! their SQL sits in `http::sites`; the three device tables share most of
//! their columns and rules, so they share one implementation here, driven by
//! the [`Device`] trait.

pub mod devices;

pub use devices::Device;
