//! The encryption schemes, one module each behind the [`crate::Encryptor`]
//! front end; the model's sidecar names the one its model was trained on
//! ([`crate::ModelSpec::scheme`], [`crate::Scheme`]).

pub(crate) mod disguisednets;
pub(crate) mod instahide;
