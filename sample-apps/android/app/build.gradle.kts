plugins {
    alias(libs.plugins.android.application)
    alias(libs.plugins.kotlin.android)
    alias(libs.plugins.kotlin.compose)
}

android {
    // scripts/profile-battery.sh addresses the app by this exact id; a debug
    // applicationIdSuffix would break `run-as dev.mote.sample`.
    namespace = "dev.mote.sample"
    compileSdk = 35

    defaultConfig {
        applicationId = "dev.mote.sample"
        minSdk = 24
        targetSdk = 35
        versionCode = 1
        versionName = "0.1.0"
        ndk {
            // Only the ABIs the SDK ships libmote_ffi.so for; JNA alone would
            // also pull in 32-bit ABIs that would install and then crash.
            abiFilters += listOf("arm64-v8a", "x86_64")
        }
    }

    buildTypes {
        release {
            isMinifyEnabled = true
            proguardFiles(getDefaultProguardFile("proguard-android-optimize.txt"))
            // Signed with the debug key so `assembleRelease` installs without a
            // keystore; a real app signs with its own.
            signingConfig = signingConfigs.getByName("debug")
        }
    }

    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }

    buildFeatures {
        compose = true
    }

    packaging {
        // Uncompressed and page-aligned in the APK, loaded in place (16 KB page devices too).
        jniLibs.useLegacyPackaging = false
    }
}

kotlin {
    jvmToolchain(17)
}

dependencies {
    implementation(project(":mote"))

    implementation(platform(sampleLibs.compose.bom))
    implementation(sampleLibs.compose.ui)
    implementation(sampleLibs.compose.material3)
    implementation(sampleLibs.activity.compose)
    implementation(sampleLibs.lifecycle.viewmodel.compose)
    implementation(sampleLibs.lifecycle.runtime.compose)
}
