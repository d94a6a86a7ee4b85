//! The registry of live handles that bridges hand out (C pointers, Java
//! `long`s): a handle is usable from its open/new until its free, as the
//! kind it was made as. A freed, foreign or
//! mistyped pointer is refused before it is dereferenced; freeing twice does
//! nothing. (A handle freed on one thread while another uses it is still the
//! caller's bug: the header says so.)

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex, MutexGuard};

use crate::{BridgeError, Status};

/// What a handle points to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// An encryptor ([`crate::Device`]).
    Encryptor,
    /// A client ([`crate::Remote`]).
    Client,
    /// A video session ([`crate::Video`]).
    Video,
}

static LIVE: LazyLock<Mutex<HashMap<usize, Kind>>> = LazyLock::new(Mutex::default);

fn live() -> MutexGuard<'static, HashMap<usize, Kind>> {
    // The map stays consistent whatever panicked while it was held.
    LIVE.lock().unwrap_or_else(|e| e.into_inner())
}

/// Hands `value` to C as a handle of `kind`.
pub fn register<T>(value: Box<T>, kind: Kind) -> *mut T {
    let p = Box::into_raw(value);
    live().insert(p as usize, kind);
    p
}

/// The value behind a live handle of `kind`.
///
/// # Safety
/// A registered pointer of `kind` points to a live `T` (it was made by
/// [`register`] with a `Box<T>` and not yet freed).
pub unsafe fn get<'a, T>(p: *const T, kind: Kind) -> Result<&'a T, BridgeError> {
    if p.is_null() {
        return Err(BridgeError::new(Status::NullPointer, "handle is NULL"));
    }
    match live().get(&(p as usize)) {
        // SAFETY: registered as a live `T` of this kind (see above).
        Some(k) if *k == kind => Ok(unsafe { &*p }),
        Some(k) => Err(BridgeError::new(
            Status::ClosedHandle,
            format!("handle is a {k:?}, not a {kind:?}"),
        )),
        None => Err(BridgeError::new(
            Status::ClosedHandle,
            format!("{kind:?} handle is closed or was never opened"),
        )),
    }
}

/// Frees a live handle of `kind`; anything else is left alone.
///
/// # Safety
/// As for [`get`].
pub unsafe fn free<T>(p: *mut T, kind: Kind) {
    if p.is_null() {
        return;
    }
    let was_live = {
        let mut map = live();
        match map.get(&(p as usize)) {
            Some(k) if *k == kind => map.remove(&(p as usize)).is_some(),
            _ => false,
        }
    };
    if was_live {
        // SAFETY: it was a live `Box<T>`, now out of the registry.
        drop(unsafe { Box::from_raw(p) });
    }
}
