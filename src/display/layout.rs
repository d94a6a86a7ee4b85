//! The two layouts: 128x64 (monochrome panels) and 240x240 (colour).

use core::fmt::Write;

use embedded_graphics::mono_font::ascii::{FONT_6X10, FONT_10X20};
use embedded_graphics::mono_font::{MonoFont, MonoTextStyle};
use embedded_graphics::prelude::*;
use embedded_graphics::primitives::{PrimitiveStyle, Rectangle};
use embedded_graphics::text::{Alignment, Baseline, Text, TextStyleBuilder};

use super::{Status, StatusColor, Thumbnail};

/// Text formatted on the stack: drawing never allocates.
type Line = heapless::String<32>;

fn line(args: core::fmt::Arguments<'_>) -> Line {
    let mut s = Line::new();
    // Past 32 bytes the text is cut, never an error.
    let _ = s.write_fmt(args);
    s
}

/// The first `chars` characters of `s` (labels can be longer than a line).
fn cut(s: &str, chars: usize) -> &str {
    s.char_indices().nth(chars).map_or(s, |(i, _)| &s[..i])
}

fn text<D>(
    target: &mut D,
    s: &str,
    at: Point,
    font: &'static MonoFont<'static>,
    color: D::Color,
    align: Alignment,
) -> Result<(), D::Error>
where
    D: DrawTarget,
    D::Color: StatusColor,
{
    let style = MonoTextStyle::new(font, color);
    let layout = TextStyleBuilder::new()
        .baseline(Baseline::Top)
        .alignment(align)
        .build();
    Text::with_text_style(s, at, style, layout).draw(target)?;
    Ok(())
}

/// The encryption scaled (nearest neighbour) into the square `area`.
fn thumbnail<D>(target: &mut D, t: &Thumbnail<'_>, area: Rectangle) -> Result<(), D::Error>
where
    D: DrawTarget,
    D::Color: StatusColor,
{
    let (w, h) = (area.size.width as usize, area.size.height as usize);
    let pixels = (0..h).flat_map(move |y| {
        (0..w).map(move |x| {
            let (sy, sx) = (y * t.height / h, x * t.width / w);
            let p = area.top_left + Point::new(x as i32, y as i32);
            Pixel(p, D::Color::grey(t.level(sy, sx), p.x, p.y))
        })
    });
    target.draw_iter(pixels)
}

/// The encryption sent, or an empty frame where it would be.
fn sent<D>(target: &mut D, t: Option<&Thumbnail<'_>>, area: Rectangle) -> Result<(), D::Error>
where
    D: DrawTarget,
    D::Color: StatusColor,
{
    match t {
        Some(t) => thumbnail(target, t, area),
        None => area
            .into_styled(PrimitiveStyle::with_stroke(D::Color::FOREGROUND, 1))
            .draw(target),
    }
}

/// A bar `area` wide, filled to `fraction`.
fn bar<D>(target: &mut D, area: Rectangle, fraction: f32, color: D::Color) -> Result<(), D::Error>
where
    D: DrawTarget,
    D::Color: StatusColor,
{
    area.into_styled(PrimitiveStyle::with_stroke(D::Color::FOREGROUND, 1))
        .draw(target)?;
    let inner = area.size.width.saturating_sub(2);
    let f = if fraction.is_finite() {
        fraction.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let filled = (inner as f32 * f).round() as u32;
    Rectangle::new(
        area.top_left + Point::new(1, 1),
        Size::new(filled, area.size.height.saturating_sub(2)),
    )
    .into_styled(PrimitiveStyle::with_fill(color))
    .draw(target)
}

/// 128x64: state line on top, the thumbnail on the left, the answer on the
/// right.
pub(super) fn small<D>(s: &Status<'_>, target: &mut D, area: Rectangle) -> Result<(), D::Error>
where
    D: DrawTarget,
    D::Color: StatusColor,
{
    let o = area.top_left;
    let fg = D::Color::FOREGROUND;
    let right = o.x + area.size.width as i32 - 1;
    text(
        target,
        s.link.text(),
        o,
        &FONT_6X10,
        D::Color::link(s.link),
        Alignment::Left,
    )?;
    let engine = if s.gpu { "GPU" } else { "CPU" };
    text(
        target,
        engine,
        Point::new(right, o.y),
        &FONT_6X10,
        fg,
        Alignment::Right,
    )?;
    let side = area.size.height.saturating_sub(12).min(52);
    let thumb = Rectangle::new(o + Point::new(0, 12), Size::new(side, side));
    sent(target, s.sent.as_ref(), thumb)?;
    let x = o.x + side as i32 + 4;
    let (label, p) = s.answer.unwrap_or(("-", 0.0));
    text(
        target,
        cut(label, 12),
        Point::new(x, o.y + 12),
        &FONT_6X10,
        fg,
        Alignment::Left,
    )?;
    let pct = line(format_args!("{:.0}%", p * 100.0));
    text(
        target,
        &pct,
        Point::new(x, o.y + 23),
        &FONT_6X10,
        fg,
        Alignment::Left,
    )?;
    let width = (right - x).max(8) as u32;
    bar(
        target,
        Rectangle::new(Point::new(x, o.y + 34), Size::new(width, 6)),
        p,
        fg,
    )?;
    text(
        target,
        s.scene.text(),
        Point::new(x, o.y + 42),
        &FONT_6X10,
        fg,
        Alignment::Left,
    )?;
    let fps = line(format_args!("{:.1} fps", s.fps));
    text(
        target,
        &fps,
        Point::new(x, o.y + 53),
        &FONT_6X10,
        fg,
        Alignment::Left,
    )?;
    Ok(())
}

/// 240x240: state bar on top, a large thumbnail with its caption, the
/// answer in large type, the budget and frame rate at the bottom.
pub(super) fn large<D>(s: &Status<'_>, target: &mut D, area: Rectangle) -> Result<(), D::Error>
where
    D: DrawTarget,
    D::Color: StatusColor,
{
    let o = area.top_left;
    let fg = D::Color::FOREGROUND;
    let (w, h) = (area.size.width as i32, area.size.height as i32);
    let link = D::Color::link(s.link);
    text(
        target,
        s.link.text(),
        o + Point::new(4, 2),
        &FONT_10X20,
        link,
        Alignment::Left,
    )?;
    let engine = if s.gpu { "GPU" } else { "CPU" };
    text(
        target,
        engine,
        o + Point::new(w - 4, 2),
        &FONT_10X20,
        fg,
        Alignment::Right,
    )?;
    Rectangle::new(o + Point::new(0, 24), Size::new(w as u32, 2))
        .into_styled(PrimitiveStyle::with_fill(link))
        .draw(target)?;
    let side = ((w - 16) / 2).min(h - 110).max(16) as u32;
    let thumb = Rectangle::new(o + Point::new(4, 32), Size::new(side, side));
    sent(target, s.sent.as_ref(), thumb)?;
    let below = 32 + side as i32 + 3;
    text(
        target,
        "what the server",
        o + Point::new(4, below),
        &FONT_6X10,
        fg,
        Alignment::Left,
    )?;
    text(
        target,
        "saw",
        o + Point::new(4, below + 10),
        &FONT_6X10,
        fg,
        Alignment::Left,
    )?;
    let x = 4 + side as i32 + 8;
    let (label, p) = s.answer.unwrap_or(("-", 0.0));
    let chars = ((w - x - 4) / 10).max(1) as usize;
    text(
        target,
        cut(label, chars),
        o + Point::new(x, 36),
        &FONT_10X20,
        fg,
        Alignment::Left,
    )?;
    let pct = line(format_args!("{:.0}%", p * 100.0));
    text(
        target,
        &pct,
        o + Point::new(x, 62),
        &FONT_10X20,
        fg,
        Alignment::Left,
    )?;
    let width = (w - x - 4).max(8) as u32;
    bar(
        target,
        Rectangle::new(o + Point::new(x, 88), Size::new(width, 12)),
        p,
        link,
    )?;
    let scene = line(format_args!("scene: {}", s.scene.text()));
    text(
        target,
        &scene,
        o + Point::new(4, h - 44),
        &FONT_10X20,
        fg,
        Alignment::Left,
    )?;
    let fps = line(format_args!("{:.1} fps", s.fps));
    text(
        target,
        &fps,
        o + Point::new(4, h - 22),
        &FONT_10X20,
        fg,
        Alignment::Left,
    )?;
    Ok(())
}
