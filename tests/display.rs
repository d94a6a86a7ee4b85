//! The sensor's status screen: both layouts in every link state against
//! golden images (rendered headless by embedded-graphics' simulator; a few
//! pixels may differ), other screen sizes, and no heap allocation while
//! drawing (a counting allocator). `EDGEHIDE_BLESS=1` rewrites the goldens.
#![cfg(feature = "display")]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::path::PathBuf;

use edgehide::display::{self, Link, SceneState, Status, StatusColor, Thumbnail};
use embedded_graphics::pixelcolor::{BinaryColor, Rgb565, Rgb888};
use embedded_graphics::prelude::*;
use embedded_graphics_simulator::SimulatorDisplay;

/// Counts this thread's allocations (other test threads allocate freely).
struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: forwards to the system allocator; the counter is a const-initialised
// thread local, which needs no allocation.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, size: usize) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        unsafe { System.realloc(ptr, layout, size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn allocations() -> usize {
    ALLOCATIONS.with(|n| n.get())
}

/// Encryption-like values: smooth structure under random-looking signs.
fn encryption_like() -> Vec<f32> {
    (0..28 * 28)
        .map(|i| {
            let (y, x) = ((i / 28) as f32, (i % 28) as f32);
            let v = (x / 5.0).sin() + (y / 7.0).cos();
            if (i * 7919) % 13 < 6 { -v } else { v }
        })
        .collect()
}

/// The states the goldens cover: (name, link, scene, with an answer).
const STATES: [(&str, Link, SceneState, bool); 5] = [
    ("connecting", Link::Connecting, SceneState::Idle, false),
    ("online", Link::Ok, SceneState::Sent, true),
    ("retrying", Link::Retrying, SceneState::Reused, true),
    ("offline", Link::Offline, SceneState::Idle, true),
    ("mismatch", Link::ModelMismatch, SceneState::Withheld, false),
];

fn status<'a>(data: &'a [f32], link: Link, scene: SceneState, answer: bool) -> Status<'a> {
    Status {
        answer: answer.then_some(("Ankle boot", 0.87)),
        sent: answer.then(|| Thumbnail::new(data, 1, 28, 28).unwrap()),
        gpu: link != Link::Offline,
        link,
        scene,
        fps: 14.5,
    }
}

fn render<C>(s: &Status<'_>, size: Size) -> SimulatorDisplay<C>
where
    C: StatusColor + From<BinaryColor>,
{
    let mut d = SimulatorDisplay::<C>::new(size);
    display::draw(s, &mut d).unwrap();
    d
}

fn to_rgb<C: PixelColor + Into<Rgb888>>(d: &SimulatorDisplay<C>) -> image::RgbImage {
    let size = d.size();
    image::RgbImage::from_fn(size.width, size.height, |x, y| {
        let c: Rgb888 = d.get_pixel(Point::new(x as i32, y as i32)).into();
        image::Rgb([c.r(), c.g(), c.b()])
    })
}

fn golden(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("tests/data/display/{name}.png"))
}

/// `got` against the golden `name`: at most 0.5% of pixels differ by more
/// than 8 levels in any channel.
fn check(name: &str, got: &image::RgbImage) {
    let path = golden(name);
    if std::env::var_os("EDGEHIDE_BLESS").is_some() {
        got.save(&path).unwrap();
        return;
    }
    let want = image::open(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (EDGEHIDE_BLESS=1 writes it)", path.display()))
        .to_rgb8();
    assert_eq!(got.dimensions(), want.dimensions(), "{name}");
    let differ = got
        .pixels()
        .zip(want.pixels())
        .filter(|(a, b)| a.0.iter().zip(b.0).any(|(x, y)| x.abs_diff(y) > 8))
        .count();
    let total = (got.width() * got.height()) as usize;
    assert!(
        differ * 200 <= total,
        "{name}: {differ} of {total} pixels differ"
    );
}

#[test]
fn both_layouts_match_their_goldens_in_every_state() {
    let data = encryption_like();
    for (name, link, scene, answer) in STATES {
        let s = status(&data, link, scene, answer);
        let small = render::<BinaryColor>(&s, Size::new(128, 64));
        check(&format!("ssd1306-128x64-{name}"), &to_rgb(&small));
        let large = render::<Rgb565>(&s, Size::new(240, 240));
        check(&format!("st7789-240x240-{name}"), &to_rgb(&large));
    }
}

#[test]
fn the_states_are_told_apart() {
    // Each state draws a different screen: a golden cannot stand for two.
    let data = encryption_like();
    let screens: Vec<image::RgbImage> = STATES
        .iter()
        .map(|&(_, link, scene, answer)| {
            to_rgb(&render::<Rgb565>(
                &status(&data, link, scene, answer),
                Size::new(240, 240),
            ))
        })
        .collect();
    for i in 0..screens.len() {
        for j in i + 1..screens.len() {
            assert_ne!(
                screens[i], screens[j],
                "{} and {}",
                STATES[i].0, STATES[j].0
            );
        }
    }
}

#[test]
fn drawing_allocates_nothing() {
    let data = encryption_like();
    let s = status(&data, Link::Ok, SceneState::Sent, true);
    let mut small = SimulatorDisplay::<BinaryColor>::new(Size::new(128, 64));
    let mut large = SimulatorDisplay::<Rgb565>::new(Size::new(240, 240));
    let before = allocations();
    display::draw(&s, &mut small).unwrap();
    display::draw(&s, &mut large).unwrap();
    let during = allocations() - before;
    assert_eq!(during, 0, "{during} allocations while drawing");
    // The counter counts: the same thread allocating is seen.
    let v = std::hint::black_box(vec![1u8; 64]);
    assert!(allocations() > before, "{}", v.len());
}

#[test]
fn other_sizes_get_the_layout_that_fits() {
    let data = encryption_like();
    let s = status(&data, Link::Ok, SceneState::Sent, true);
    for size in [
        Size::new(96, 48),
        Size::new(160, 80),
        Size::new(320, 240),
        Size::new(8, 8),
    ] {
        let d = render::<Rgb565>(&s, size);
        let lit = to_rgb(&d).pixels().filter(|p| p.0 != [0, 0, 0]).count();
        assert!(lit > 0, "{size:?}: nothing drawn");
    }
    // Labels longer than a line are cut, and odd values do not upset it.
    let mut odd = status(&data, Link::Ok, SceneState::Sent, true);
    odd.answer = Some(("a label far too long for any line on this screen", f32::NAN));
    odd.fps = f32::INFINITY;
    render::<BinaryColor>(&odd, Size::new(128, 64));
    render::<Rgb565>(&odd, Size::new(240, 240));
    assert!(Thumbnail::new(&data, 1, 28, 27).is_err());
}
