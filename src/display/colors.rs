//! What the screen's colours mean on each kind of panel: ink and paper on a
//! monochrome panel, with greys by ordered dithering; colours on an RGB one.

use embedded_graphics::pixelcolor::{BinaryColor, Rgb565, Rgb888};
use embedded_graphics::prelude::*;

use super::Link;

/// A pixel colour the status screen can be drawn in.
pub trait StatusColor: PixelColor {
    /// The screen's background.
    const BACKGROUND: Self;
    /// Text and outlines.
    const FOREGROUND: Self;
    /// The colour of the link's state.
    fn link(link: Link) -> Self;
    /// A grey of `level` (0 black ..= 255 white) at pixel (`x`, `y`).
    fn grey(level: u8, x: i32, y: i32) -> Self;
}

/// 4x4 Bayer thresholds: a grey becomes a pattern of on and off pixels
/// whose density follows the level.
const BAYER: [[u8; 4]; 4] = [[0, 8, 2, 10], [12, 4, 14, 6], [3, 11, 1, 9], [15, 7, 13, 5]];

impl StatusColor for BinaryColor {
    const BACKGROUND: Self = BinaryColor::Off;
    const FOREGROUND: Self = BinaryColor::On;
    fn link(_: Link) -> Self {
        BinaryColor::On
    }
    fn grey(level: u8, x: i32, y: i32) -> Self {
        let t = BAYER[(y & 3) as usize][(x & 3) as usize] as u16 * 16 + 8;
        if level as u16 > t {
            BinaryColor::On
        } else {
            BinaryColor::Off
        }
    }
}

fn rgb_link(link: Link) -> (u8, u8, u8) {
    match link {
        Link::Ok => (40, 200, 80),
        Link::Connecting | Link::Retrying => (240, 190, 40),
        Link::Offline | Link::ModelMismatch => (230, 60, 50),
    }
}

impl StatusColor for Rgb565 {
    const BACKGROUND: Self = Rgb565::BLACK;
    const FOREGROUND: Self = Rgb565::WHITE;
    fn link(link: Link) -> Self {
        let (r, g, b) = rgb_link(link);
        Rgb565::from(Rgb888::new(r, g, b))
    }
    fn grey(level: u8, _: i32, _: i32) -> Self {
        Rgb565::from(Rgb888::new(level, level, level))
    }
}

impl StatusColor for Rgb888 {
    const BACKGROUND: Self = Rgb888::BLACK;
    const FOREGROUND: Self = Rgb888::WHITE;
    fn link(link: Link) -> Self {
        let (r, g, b) = rgb_link(link);
        Rgb888::new(r, g, b)
    }
    fn grey(level: u8, _: i32, _: i32) -> Self {
        Rgb888::new(level, level, level)
    }
}
