//! Placeholder crate: the issue that builds this component fills it. It
//! exports nothing yet, so nothing can depend on it by mistake.
