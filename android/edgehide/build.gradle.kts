// The Android library module: org.edgehide's Java API over libedgehide_jni.
// jniLibs/ is filled by build-jni.sh (cargo ndk) for arm64-v8a, armeabi-v7a
// and x86_64 before the first build.
plugins {
    id("com.android.library")
}

android {
    namespace = "org.edgehide"
    compileSdk = 35

    defaultConfig {
        // java.lang.ref.Cleaner frees forgotten handles from API 33; on
        // API 24-32 close() (try-with-resources) frees them.
        minSdk = 24
        consumerProguardFiles("consumer-rules.pro")
    }

    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }

    sourceSets["main"].jniLibs.srcDirs("src/main/jniLibs")
}
