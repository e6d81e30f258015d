// The Mote sample app. The SDK is not taken from a Maven repository: the
// library module android/mote is included as a subproject of this build
// (project dir ../../android/mote), so the app always builds against the SDK
// sources in this checkout and the .so files and Kotlin bindings that
// scripts/build-android.sh put next to them.
pluginManagement {
    repositories {
        google()
        mavenCentral()
        gradlePluginPortal()
    }
}

dependencyResolutionManagement {
    repositoriesMode.set(RepositoriesMode.FAIL_ON_PROJECT_REPOS)
    repositories {
        google()
        mavenCentral()
    }
    versionCatalogs {
        // The library's own catalog, because android/mote/build.gradle.kts
        // reads `libs`; AGP, Kotlin and coroutines then cannot drift between
        // the SDK and the app. The app-only plugins reuse its versions.
        create("libs") {
            from(files("../../android/gradle/libs.versions.toml"))
            plugin("android-application", "com.android.application").versionRef("agp")
            plugin("kotlin-compose", "org.jetbrains.kotlin.plugin.compose").versionRef("kotlin")
        }
        create("sampleLibs") {
            from(files("gradle/sample.versions.toml"))
        }
    }
}

rootProject.name = "mote-sample"
include(":app")
include(":mote")
project(":mote").projectDir = file("../../android/mote")
