//! Pictures for people: what the frame was, what the server saw, and what it
//! answered. Text is drawn with embedded-graphics' built-in bitmap font, so
//! no font file ships with the binary.

use embedded_graphics::mono_font::MonoTextStyle;
use embedded_graphics::mono_font::ascii::FONT_6X10;
use embedded_graphics::pixelcolor::{Gray8, GrayColor};
use embedded_graphics::prelude::*;
use embedded_graphics::text::{Baseline, Text};
use image::{GrayImage, Luma};

/// How much each tensor pixel is enlarged.
pub const SCALE: u32 = 4;
const GAP: u32 = 4;
const CAPTION: u32 = 14;
const BACKGROUND: u8 = 32;

struct Canvas<'a>(&'a mut GrayImage);

impl OriginDimensions for Canvas<'_> {
    fn size(&self) -> Size {
        Size::new(self.0.width(), self.0.height())
    }
}

impl DrawTarget for Canvas<'_> {
    type Color = Gray8;
    type Error = std::convert::Infallible;
    fn draw_iter<I: IntoIterator<Item = Pixel<Gray8>>>(
        &mut self,
        pixels: I,
    ) -> Result<(), Self::Error> {
        let (w, h) = self.0.dimensions();
        for Pixel(p, c) in pixels {
            if p.x >= 0 && p.y >= 0 && (p.x as u32) < w && (p.y as u32) < h {
                self.0.put_pixel(p.x as u32, p.y as u32, Luma([c.luma()]));
            }
        }
        Ok(())
    }
}

/// Writes `text` at (`x`, `y`) (top left) in white.
pub fn draw_text(img: &mut GrayImage, text: &str, x: i32, y: i32) {
    let style = MonoTextStyle::new(&FONT_6X10, Gray8::WHITE);
    let _ =
        Text::with_baseline(text, Point::new(x, y), style, Baseline::Top).draw(&mut Canvas(img));
}

/// A grey picture of a tensor's first channel (`w` x `h`), min-max scaled
/// and enlarged [`SCALE`] times.
pub fn tensor_picture(values: &[f32], w: u32, h: u32) -> GrayImage {
    let plane = &values[..(w * h) as usize];
    let (lo, hi) = plane
        .iter()
        .fold((f32::MAX, f32::MIN), |(a, b), &v| (a.min(v), b.max(v)));
    let span = (hi - lo).max(1e-6);
    GrayImage::from_fn(w * SCALE, h * SCALE, |x, y| {
        let v = plane[((y / SCALE) * w + x / SCALE) as usize];
        Luma([((v - lo) / span * 255.0).round() as u8])
    })
}

/// Pictures side by side (the frame | what the server saw | ...), above a
/// caption line.
pub fn panel(pictures: &[&[f32]], w: u32, h: u32, caption: &str) -> GrayImage {
    let (pw, ph) = (w * SCALE, h * SCALE);
    let n = pictures.len().max(1) as u32;
    let mut img = GrayImage::from_pixel(pw * n + GAP * (n - 1), ph + CAPTION, Luma([BACKGROUND]));
    for (i, p) in pictures.iter().enumerate() {
        let x = i as u32 * (pw + GAP);
        image::imageops::replace(&mut img, &tensor_picture(p, w, h), x as i64, 0);
    }
    draw_text(&mut img, caption, 2, ph as i32 + 2);
    img
}

/// Panels side by side, `cols` per row, with a margin.
pub fn contact_sheet(panels: &[GrayImage], cols: u32) -> GrayImage {
    let cols = cols.clamp(1, panels.len().max(1) as u32);
    let rows = (panels.len() as u32).div_ceil(cols).max(1);
    let (w, h) = panels.first().map(|p| p.dimensions()).unwrap_or((1, 1));
    let (cw, ch) = (w + 8, h + 8);
    let mut sheet = GrayImage::from_pixel(cols * cw, rows * ch, Luma([BACKGROUND / 2]));
    for (i, p) in panels.iter().enumerate() {
        let (x, y) = ((i as u32 % cols) * cw + 4, (i as u32 / cols) * ch + 4);
        image::imageops::replace(&mut sheet, p, x as i64, y as i64);
    }
    sheet
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caption_text_is_drawn_below_the_pictures() {
        let frame = vec![0.0f32; 4];
        let blank = panel(&[&frame, &frame], 2, 2, "");
        let text = panel(&[&frame, &frame], 2, 2, "Bag");
        assert_eq!(blank.dimensions(), text.dimensions());
        let lit = |img: &GrayImage| img.pixels().filter(|p| p.0[0] == 255).count();
        assert_eq!(lit(&blank), 0);
        assert!(lit(&text) > 10, "the caption drew {} pixels", lit(&text));
    }

    #[test]
    fn tensor_picture_spans_black_to_white() {
        let img = tensor_picture(&[-1.0, 0.0, 1.0, 3.0], 2, 2);
        assert_eq!(img.dimensions(), (2 * SCALE, 2 * SCALE));
        assert_eq!(img.get_pixel(0, 0).0[0], 0);
        assert_eq!(img.get_pixel(SCALE, SCALE).0[0], 255);
    }
}
