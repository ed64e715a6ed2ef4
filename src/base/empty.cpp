// Placeholder translation unit for a module with no sources yet (see lxcri_module in CMakeLists.txt).
