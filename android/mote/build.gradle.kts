// The Android library dev.mote. Native libraries and the UniFFI Kotlin are
// produced by scripts/build-android.sh before Gradle runs:
//   src/main/jniLibs/<abi>/libmote_ffi.so   (cargo-ndk)
//   build/generated/uniffi/kotlin/          (uniffi-bindgen; regenerated, never committed)
plugins {
    alias(libs.plugins.android.library)
    alias(libs.plugins.kotlin.android)
}

val uniffiKotlinDir = layout.buildDirectory.dir("generated/uniffi/kotlin")

android {
    namespace = "dev.mote"
    compileSdk = 35

    defaultConfig {
        minSdk = 24
        consumerProguardFiles("consumer-rules.pro")
        ndk {
            // The ABIs scripts/build-android.sh builds; 32-bit devices are not supported.
            abiFilters += listOf("arm64-v8a", "x86_64")
        }
    }

    buildTypes {
        release {
            isMinifyEnabled = false
        }
    }

    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }

    sourceSets["main"].java.srcDir(uniffiKotlinDir)

    packaging {
        // Keep the .so uncompressed and page-aligned (16 KB page devices, mmap from the APK).
        jniLibs.useLegacyPackaging = false
    }
}

kotlin {
    jvmToolchain(17)
}

// Fails early with a pointer to the script instead of a wall of unresolved references.
val checkUniffiBindings by tasks.registering {
    val dir = uniffiKotlinDir
    doLast {
        check(dir.get().asFile.resolve("dev/mote/ffi/mote_ffi.kt").isFile) {
            "UniFFI bindings missing: run scripts/build-android.sh (it builds the .so and generates them)"
        }
    }
}
tasks.named("preBuild") { dependsOn(checkUniffiBindings) }

dependencies {
    // The @aar variant carries JNA's own libjnidispatch.so for every Android ABI.
    implementation("net.java.dev.jna:jna:${libs.versions.jna.get()}@aar")
    api(libs.kotlinx.coroutines.core)
    implementation(libs.kotlinx.coroutines.android)
    testImplementation(libs.junit)
}
