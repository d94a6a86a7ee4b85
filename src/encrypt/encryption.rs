//! What leaves the device: one encrypted frame.

use crate::spec::{Geometry, Scheme};

/// What the encryption scheme was, for the receiver; no key material.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct EncryptionMeta {
    /// The scheme.
    pub scheme: Scheme,
    /// How many images were mixed (the frame and k-1 public crops).
    pub k: usize,
}

/// One encrypted frame: C x H x W f32 values plus what produced them.
#[derive(Clone, PartialEq)]
pub struct Encryption {
    geometry: Geometry,
    data: Vec<f32>,
    meta: EncryptionMeta,
}

impl std::fmt::Debug for Encryption {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Encryption({:?}, {:?})",
            self.geometry.shape(),
            self.meta
        )
    }
}

impl Encryption {
    pub(crate) fn new(geometry: Geometry, data: Vec<f32>, meta: EncryptionMeta) -> Encryption {
        Encryption {
            geometry,
            data,
            meta,
        }
    }
    /// The model geometry it was made for.
    pub fn geometry(&self) -> Geometry {
        self.geometry
    }
    /// `[C, H, W]`.
    pub fn shape(&self) -> [usize; 3] {
        self.geometry.shape()
    }
    /// The values, channels first: what is sent to the server.
    pub fn data(&self) -> &[f32] {
        &self.data
    }
    /// The values, owned.
    pub fn into_data(self) -> Vec<f32> {
        self.data
    }
    /// The scheme and its public parameters.
    pub fn meta(&self) -> &EncryptionMeta {
        &self.meta
    }
}
