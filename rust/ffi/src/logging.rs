//! On Android, Rust's `log` output would otherwise vanish: route it to logcat once.

pub(crate) fn init() {
    #[cfg(target_os = "android")]
    {
        static INIT: once_cell::sync::OnceCell<()> = once_cell::sync::OnceCell::new();
        INIT.get_or_init(|| {
            android_logger::init_once(
                android_logger::Config::default()
                    .with_tag("Mote")
                    .with_max_level(log::LevelFilter::Info),
            );
        });
    }
}
