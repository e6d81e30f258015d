// Declared once here so that :app and :mote share one copy of AGP and of the
// Kotlin plugin (loading them per project fails or warns).
plugins {
    alias(libs.plugins.android.application) apply false
    alias(libs.plugins.android.library) apply false
    alias(libs.plugins.kotlin.android) apply false
    alias(libs.plugins.kotlin.compose) apply false
}
