//! The encryption schemes. Each is a module of its own behind the
//! [`crate::Encryptor`] front end; the model's sidecar names the one its model
//! was trained on ([`crate::ModelSpec::scheme`]).

pub(crate) mod instahide;

use serde::{Deserialize, Serialize};

/// An encryption scheme, as a sidecar, an [`crate::Encryption`] and a
/// server's model metadata name it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Scheme {
    /// InstaHide with one-time keys: the frame mixed with k-1 keyed crops of a
    /// public corpus, then a random sign per element.
    #[default]
    #[serde(rename = "instahide")]
    InstaHide,
}

impl Scheme {
    /// The scheme's one name: in sidecars, in [`crate::EncryptionMeta`], and
    /// as the `scheme` parameter of a server's model metadata.
    pub const fn name(self) -> &'static str {
        match self {
            Scheme::InstaHide => instahide::NAME,
        }
    }
}

impl std::fmt::Display for Scheme {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Scheme {
    type Err = crate::Error;
    fn from_str(s: &str) -> crate::Result<Scheme> {
        match s {
            instahide::NAME => Ok(Scheme::InstaHide),
            other => Err(crate::Error::UnknownScheme(
                other.chars().take(64).collect(),
            )),
        }
    }
}
