//! Rebuilds the crate when the web build output changes, so the embedded web app is never stale.
fn main() {
    println!("cargo:rerun-if-changed=../../web/dist");
}
