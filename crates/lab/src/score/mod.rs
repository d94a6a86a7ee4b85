//! How close a rebuilt frame is to the original (SSIM), and what the label
//! alone gives away (the class-mean baseline). Apart from the attacks so
//! that the demo, which shows what a server could rebuild, can score it
//! without the attacks' access to the encryptor's internals.

pub mod baseline;
pub mod ssim;
