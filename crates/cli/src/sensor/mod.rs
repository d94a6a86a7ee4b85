//! What `edgehide sensor` is made of: a frame source, the link to the
//! server, and the screen.

pub mod frames;
pub mod link;
pub mod screen;
