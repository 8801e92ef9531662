//! e_phrase: the 256-D phrase embedding (rhythm 64 ‖ harmony 64 ‖ timbre 128).
