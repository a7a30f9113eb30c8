;; GF(2^8) multiply-accumulate for the RLNC codec, in WebAssembly SIMD.
;;
;; Product by a constant c, 16 bytes at a time: c·x = c·(x & 0x0f) ⊕ c·(x & 0xf0),
;; and each half is a 16-entry lookup done by i8x16.swizzle on a 16-byte table.
;; The host (kernel-wasm.ts) writes the tables and owns every other byte of memory.
;;
;; Memory layout (see kernel-wasm.ts, which must agree):
;;   [0, 8192)      nibble tables: coefficient c at c*32: 16 bytes c·n, 16 bytes c·(n<<4)
;;   [8192, 10240)  terms: up to 256 (pointer i32, coefficient i32) pairs for one call
;;   [10240, ...)   heap, managed by heap.ts
;;
;; Long calls are cut into tiles so the row being accumulated stays in L1 while
;; every source streams over it once.
(module
  (import "env" "memory" (memory 1))

  (global $terms i32 (i32.const 8192))
  (global $tile i32 (i32.const 8192))

  ;; dst[0..len) ^= c · src[0..len)
  (func $mul_acc (param $dst i32) (param $src i32) (param $len i32) (param $c i32)
    (local $lo v128) (local $hi v128) (local $nib v128) (local $s v128)
    (local $end i32) (local $b i32)
    (local.set $lo (v128.load (i32.shl (local.get $c) (i32.const 5))))
    (local.set $hi (v128.load offset=16 (i32.shl (local.get $c) (i32.const 5))))
    (local.set $nib (v128.const i8x16 15 15 15 15 15 15 15 15 15 15 15 15 15 15 15 15))
    ;; 64 bytes per iteration. i16x8.shr_u then a mask is what i8x16.shr_u
    ;; compiles to anyway, and it shares the mask register with the low nibble.
    (local.set $end (i32.add (local.get $dst) (i32.and (local.get $len) (i32.const -64))))
    (block $done64 (loop $next64
      (br_if $done64 (i32.ge_u (local.get $dst) (local.get $end)))
      (local.set $s (v128.load offset=0 (local.get $src)))
      (v128.store offset=0 (local.get $dst) (v128.xor (v128.load offset=0 (local.get $dst))
        (v128.xor (i8x16.swizzle (local.get $lo) (v128.and (local.get $s) (local.get $nib)))
                  (i8x16.swizzle (local.get $hi) (v128.and (i16x8.shr_u (local.get $s) (i32.const 4)) (local.get $nib))))))
      (local.set $s (v128.load offset=16 (local.get $src)))
      (v128.store offset=16 (local.get $dst) (v128.xor (v128.load offset=16 (local.get $dst))
        (v128.xor (i8x16.swizzle (local.get $lo) (v128.and (local.get $s) (local.get $nib)))
                  (i8x16.swizzle (local.get $hi) (v128.and (i16x8.shr_u (local.get $s) (i32.const 4)) (local.get $nib))))))
      (local.set $s (v128.load offset=32 (local.get $src)))
      (v128.store offset=32 (local.get $dst) (v128.xor (v128.load offset=32 (local.get $dst))
        (v128.xor (i8x16.swizzle (local.get $lo) (v128.and (local.get $s) (local.get $nib)))
                  (i8x16.swizzle (local.get $hi) (v128.and (i16x8.shr_u (local.get $s) (i32.const 4)) (local.get $nib))))))
      (local.set $s (v128.load offset=48 (local.get $src)))
      (v128.store offset=48 (local.get $dst) (v128.xor (v128.load offset=48 (local.get $dst))
        (v128.xor (i8x16.swizzle (local.get $lo) (v128.and (local.get $s) (local.get $nib)))
                  (i8x16.swizzle (local.get $hi) (v128.and (i16x8.shr_u (local.get $s) (i32.const 4)) (local.get $nib))))))
      (local.set $dst (i32.add (local.get $dst) (i32.const 64)))
      (local.set $src (i32.add (local.get $src) (i32.const 64)))
      (br $next64)))
    (local.set $end (i32.add (local.get $dst) (i32.and (local.get $len) (i32.const 48))))
    (block $done16 (loop $next16
      (br_if $done16 (i32.ge_u (local.get $dst) (local.get $end)))
      (local.set $s (v128.load (local.get $src)))
      (v128.store (local.get $dst) (v128.xor (v128.load (local.get $dst))
        (v128.xor (i8x16.swizzle (local.get $lo) (v128.and (local.get $s) (local.get $nib)))
                  (i8x16.swizzle (local.get $hi) (v128.and (i16x8.shr_u (local.get $s) (i32.const 4)) (local.get $nib))))))
      (local.set $dst (i32.add (local.get $dst) (i32.const 16)))
      (local.set $src (i32.add (local.get $src) (i32.const 16)))
      (br $next16)))
    ;; Last 0..15 bytes: the same two table lookups, one byte at a time.
    (local.set $end (i32.add (local.get $dst) (i32.and (local.get $len) (i32.const 15))))
    (local.set $c (i32.shl (local.get $c) (i32.const 5)))
    (block $done1 (loop $next1
      (br_if $done1 (i32.ge_u (local.get $dst) (local.get $end)))
      (local.set $b (i32.load8_u (local.get $src)))
      (i32.store8 (local.get $dst) (i32.xor (i32.load8_u (local.get $dst))
        (i32.xor (i32.load8_u (i32.add (local.get $c) (i32.and (local.get $b) (i32.const 15))))
                 (i32.load8_u offset=16 (i32.add (local.get $c) (i32.shr_u (local.get $b) (i32.const 4)))))))
      (local.set $dst (i32.add (local.get $dst) (i32.const 1)))
      (local.set $src (i32.add (local.get $src) (i32.const 1)))
      (br $next1))))

  ;; dst = Σ c_i·src_i (or dst ^= Σ c_i·src_i when $accumulate) over len bytes,
  ;; for the n terms (src_i, c_i) at $terms.
  (func (export "combine") (param $dst i32) (param $accumulate i32) (param $n i32) (param $len i32)
    (local $off i32) (local $size i32) (local $t i32) (local $tend i32)
    (local.set $tend (i32.add (global.get $terms) (i32.shl (local.get $n) (i32.const 3))))
    (block $done (loop $tiles
      (br_if $done (i32.ge_u (local.get $off) (local.get $len)))
      (local.set $size (select (global.get $tile) (i32.sub (local.get $len) (local.get $off))
        (i32.lt_u (global.get $tile) (i32.sub (local.get $len) (local.get $off)))))
      (if (i32.eqz (local.get $accumulate))
        (then (memory.fill (i32.add (local.get $dst) (local.get $off)) (i32.const 0) (local.get $size))))
      (local.set $t (global.get $terms))
      (block $terms_done (loop $next_term
        (br_if $terms_done (i32.ge_u (local.get $t) (local.get $tend)))
        (call $mul_acc (i32.add (local.get $dst) (local.get $off))
                       (i32.add (i32.load (local.get $t)) (local.get $off))
                       (local.get $size)
                       (i32.load offset=4 (local.get $t)))
        (local.set $t (i32.add (local.get $t) (i32.const 8)))
        (br $next_term)))
      (local.set $off (i32.add (local.get $off) (global.get $tile)))
      (br $tiles))))

  ;; dst_i ^= c_i·src over len bytes, for the n terms (dst_i, c_i) at $terms.
  (func (export "scatter") (param $src i32) (param $n i32) (param $len i32)
    (local $off i32) (local $size i32) (local $t i32) (local $tend i32)
    (local.set $tend (i32.add (global.get $terms) (i32.shl (local.get $n) (i32.const 3))))
    (block $done (loop $tiles
      (br_if $done (i32.ge_u (local.get $off) (local.get $len)))
      (local.set $size (select (global.get $tile) (i32.sub (local.get $len) (local.get $off))
        (i32.lt_u (global.get $tile) (i32.sub (local.get $len) (local.get $off)))))
      (local.set $t (global.get $terms))
      (block $terms_done (loop $next_term
        (br_if $terms_done (i32.ge_u (local.get $t) (local.get $tend)))
        (call $mul_acc (i32.add (i32.load (local.get $t)) (local.get $off))
                       (i32.add (local.get $src) (local.get $off))
                       (local.get $size)
                       (i32.load offset=4 (local.get $t)))
        (local.set $t (i32.add (local.get $t) (i32.const 8)))
        (br $next_term)))
      (local.set $off (i32.add (local.get $off) (global.get $tile)))
      (br $tiles))))

  ;; dst ^= src: the benchmark's ceiling, looped exactly like $mul_acc minus the math.
  (func (export "xor") (param $dst i32) (param $src i32) (param $len i32)
    (local $end i32)
    (local.set $end (i32.add (local.get $dst) (i32.and (local.get $len) (i32.const -64))))
    (block $done64 (loop $next64
      (br_if $done64 (i32.ge_u (local.get $dst) (local.get $end)))
      (v128.store offset=0 (local.get $dst) (v128.xor (v128.load offset=0 (local.get $dst)) (v128.load offset=0 (local.get $src))))
      (v128.store offset=16 (local.get $dst) (v128.xor (v128.load offset=16 (local.get $dst)) (v128.load offset=16 (local.get $src))))
      (v128.store offset=32 (local.get $dst) (v128.xor (v128.load offset=32 (local.get $dst)) (v128.load offset=32 (local.get $src))))
      (v128.store offset=48 (local.get $dst) (v128.xor (v128.load offset=48 (local.get $dst)) (v128.load offset=48 (local.get $src))))
      (local.set $dst (i32.add (local.get $dst) (i32.const 64)))
      (local.set $src (i32.add (local.get $src) (i32.const 64)))
      (br $next64)))
    (local.set $end (i32.add (local.get $dst) (i32.and (local.get $len) (i32.const 63))))
    (block $done1 (loop $next1
      (br_if $done1 (i32.ge_u (local.get $dst) (local.get $end)))
      (i32.store8 (local.get $dst) (i32.xor (i32.load8_u (local.get $dst)) (i32.load8_u (local.get $src))))
      (local.set $dst (i32.add (local.get $dst) (i32.const 1)))
      (local.set $src (i32.add (local.get $src) (i32.const 1)))
      (br $next1))))
)
