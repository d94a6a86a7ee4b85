//! `edgehide demo --html`: the page is loaded by headless Chromium (Debian's
//! `chromium`): every image decodes, and a screenshot of it is not blank.
//! The demo also prints what the server rebuilt beside the label-only
//! baseline.

use std::path::Path;
use std::process::Command;

mod common;
use common::root;

/// Headless Chromium with the flags that keep it off the network, on
/// `page`, with `extra` arguments.
fn chromium(profile: &Path, extra: &[&str], page: &Path) -> std::process::Output {
    Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--allow-file-access-from-files",
            "--virtual-time-budget=5000",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("chromium (scripts/install-deps.sh installs it)")
}

#[test]
fn the_demo_page_loads_in_chromium_with_every_image() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("demo");
    let run = Command::new(env!("CARGO_BIN_EXE_edgehide"))
        .current_dir(root())
        .env("XDG_RUNTIME_DIR", std::env::temp_dir())
        .args(["demo", "--n", "8", "--backend", "cpu", "--html", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(
        stdout.contains("label-only") || stdout.contains("class's mean"),
        "{stdout}"
    );
    let page = out.join("demo.html");
    let html = std::fs::read_to_string(&page).unwrap();
    assert_eq!(html.matches("<img").count(), 8);
    assert!(html.contains("rebuilt"), "no rebuilt frames on the page");

    // A wrapper page counts the demo page's images that decoded.
    let wrapper = dir.path().join("check.html");
    std::fs::write(
        &wrapper,
        r#"<!doctype html><html><body><iframe id="f" src="demo/demo.html"></iframe><script>
document.getElementById("f").onload = function () {
  var imgs = this.contentDocument.images, ok = 0;
  for (var i = 0; i < imgs.length; i++) if (imgs[i].complete && imgs[i].naturalWidth > 0) ok++;
  document.body.setAttribute("data-images", ok + "/" + imgs.length);
};
</script></body></html>"#,
    )
    .unwrap();
    let profile = dir.path().join("profile");
    let dom = chromium(&profile, &["--dump-dom"], &wrapper);
    let dom_text = String::from_utf8_lossy(&dom.stdout);
    assert!(dom_text.contains(r#"data-images="8/8""#), "{dom_text}");

    let shot = dir.path().join("shot.png");
    let s = chromium(
        &profile,
        &[
            &format!("--screenshot={}", shot.display()),
            "--window-size=1000,800",
        ],
        &page,
    );
    assert!(shot.is_file(), "{}", String::from_utf8_lossy(&s.stderr));
    let img = image::open(&shot).unwrap().to_luma8();
    let (lo, hi) = img
        .pixels()
        .fold((255u8, 0u8), |(lo, hi), p| (lo.min(p.0[0]), hi.max(p.0[0])));
    assert!(hi - lo > 100, "blank screenshot ({lo}..{hi})");
}
