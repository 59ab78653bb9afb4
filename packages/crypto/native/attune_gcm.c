/*
 * Optional native fast path of @attune/crypto: AES-256-GCM through the OpenSSL that Node itself is built with,
 * holding one initialised EVP_CIPHER_CTX per key and direction. Node's createCipheriv/createDecipheriv build a new
 * cipher object, fetch the algorithm and expand the key on every call; here the key schedule is computed once and
 * each call only sets the nonce. No cryptography is implemented here: every AES and GHASH operation is OpenSSL's.
 *
 * Entry points: createKey; seal and open on byte buffers at offsets the JavaScript side computed (every offset and
 * length is re-checked here against the buffers given, so a bug there cannot make this read or write out of bounds);
 * openText, which takes a short ciphertext string whole and saves the JavaScript side its parsing calls. openText's
 * parser accepts exactly what src/encryption-key.ts's accepts; when it refuses a string, that parser says why.
 * Key bytes are copied into OpenSSL's contexts and nowhere else; EVP_CIPHER_CTX_free cleanses them. Outputs that
 * would hold plaintext are cleansed when a tag does not verify or OpenSSL fails.
 */
#define NAPI_VERSION 8
#include <node_api.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define KEY_LEN 32
#define NONCE_LEN 12
#define TAG_LEN 16
#define CODE_ARGUMENT "ATTUNE_CRYPTO_NATIVE_ARGUMENT"
#define CODE_INTERNAL "ATTUNE_CRYPTO_NATIVE_INTERNAL"

typedef struct {
  EVP_CIPHER_CTX *enc;
  EVP_CIPHER_CTX *dec;
} gcm_key;

/* Marks externals made by this addon, so a foreign external can never be taken for a key. */
static const napi_type_tag KEY_TAG = {0x6174746f6e655f67ULL, 0x636d5f6b65795f31ULL};

static void free_key(gcm_key *key) {
  if (key == NULL) return;
  EVP_CIPHER_CTX_free(key->enc);
  EVP_CIPHER_CTX_free(key->dec);
  free(key);
}

static void finalize_key(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  free_key((gcm_key *)data);
}

static napi_value throw_error(napi_env env, const char *code, const char *message) {
  napi_throw_error(env, code, message);
  return NULL;
}

static int init_ctx(EVP_CIPHER_CTX *ctx, const unsigned char *key_bytes, int encrypt) {
  if (EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL, encrypt) != 1) return 0;
  if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_IVLEN, NONCE_LEN, NULL) != 1) return 0;
  return EVP_CipherInit_ex(ctx, NULL, NULL, key_bytes, NULL, encrypt) == 1;
}

static int get_bytes(napi_env env, napi_value value, unsigned char **data, size_t *length) {
  napi_typedarray_type type;
  napi_value buffer;
  size_t offset;
  void *raw;
  if (napi_get_typedarray_info(env, value, &type, length, &raw, &buffer, &offset) != napi_ok) return 0;
  if (type != napi_uint8_array) return 0;
  *data = (unsigned char *)raw;
  return 1;
}

/* A whole number in [0, 2^32); napi_get_value_uint32 alone would wrap -1 and truncate 1.5. */
static int get_u32(napi_env env, napi_value value, uint32_t *out) {
  double number;
  if (napi_get_value_double(env, value, &number) != napi_ok) return 0;
  if (!(number >= 0 && number <= (double)UINT32_MAX) || (double)(uint32_t)number != number) return 0;
  *out = (uint32_t)number;
  return 1;
}

static int get_key(napi_env env, napi_value value, gcm_key **key) {
  bool tagged = false;
  if (napi_check_object_type_tag(env, value, &KEY_TAG, &tagged) != napi_ok || !tagged) return 0;
  return napi_get_value_external(env, value, (void **)key) == napi_ok && *key != NULL;
}

/* Whether [offset, offset + length) lies within a buffer of `size` bytes, without overflow. */
static int in_bounds(size_t size, uint32_t offset, uint32_t length) {
  return (size_t)offset <= size && (size_t)length <= size - (size_t)offset;
}

/* createKey(key: Uint8Array(32)): external */
static napi_value create_key(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  unsigned char *bytes;
  size_t length;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 1 ||
      !get_bytes(env, argv[0], &bytes, &length) || length != KEY_LEN)
    return throw_error(env, CODE_ARGUMENT, "createKey expects a 32-byte Uint8Array");
  gcm_key *key = calloc(1, sizeof(gcm_key));
  if (key == NULL) return throw_error(env, CODE_INTERNAL, "out of memory");
  key->enc = EVP_CIPHER_CTX_new();
  key->dec = EVP_CIPHER_CTX_new();
  if (key->enc == NULL || key->dec == NULL || !init_ctx(key->enc, bytes, 1) || !init_ctx(key->dec, bytes, 0)) {
    free_key(key);
    return throw_error(env, CODE_INTERNAL, "OpenSSL could not set up AES-256-GCM");
  }
  napi_value external;
  if (napi_create_external(env, key, finalize_key, NULL, &external) != napi_ok) {
    free_key(key);
    return throw_error(env, CODE_INTERNAL, "could not create the key handle");
  }
  if (napi_type_tag_object(env, external, &KEY_TAG) != napi_ok)
    return throw_error(env, CODE_INTERNAL, "could not tag the key handle");
  return external;
}

/*
 * One AES-256-GCM operation on a context that already holds the expanded key: set the nonce, feed the associated
 * data and the text, then produce (encrypt) or check (decrypt) the 16-byte tag at `tag`.
 * Returns 1 when done (decrypt: the tag verified), 0 when a decrypt's tag did not verify, -1 when OpenSSL failed.
 * On any outcome but 1, `out` is cleansed.
 */
static int gcm_run(EVP_CIPHER_CTX *ctx, int encrypt, const unsigned char *nonce, const unsigned char *aad,
                   size_t aad_length, const unsigned char *in, size_t length, unsigned char *out, unsigned char *tag) {
  int n = 0;
  if (length > (size_t)INT32_MAX || aad_length > (size_t)INT32_MAX) goto fail;
  if (EVP_CipherInit_ex(ctx, NULL, NULL, NULL, nonce, encrypt) != 1) goto fail;
  if (aad_length > 0 && EVP_CipherUpdate(ctx, NULL, &n, aad, (int)aad_length) != 1) goto fail;
  if (length > 0 && (EVP_CipherUpdate(ctx, out, &n, in, (int)length) != 1 || (size_t)n != length)) goto fail;
  if (!encrypt && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, TAG_LEN, tag) != 1) goto fail;
  if (EVP_CipherFinal_ex(ctx, out + length, &n) != 1) {
    if (encrypt) goto fail;
    OPENSSL_cleanse(out, length);
    return 0; /* the one outcome that is not an error: the tag did not verify */
  }
  if (encrypt && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, TAG_LEN, tag) != 1) goto fail;
  return 1;
fail:
  OPENSSL_cleanse(out, length);
  return -1;
}

/*
 * The arguments of seal and open:
 *   (key, input: Uint8Array, nonceOffset, dataOffset, dataLength, aadOffset, aadLength, output: Uint8Array)
 * seal: input[dataOffset, +dataLength) is the plaintext; output[0, dataLength + 16) receives ciphertext ‖ tag.
 * open: input[dataOffset, +dataLength) is the ciphertext, the 16 bytes after it the tag; output receives the
 *       plaintext. The 12-byte nonce and the associated data are read from input in both.
 */
typedef struct {
  gcm_key *key;
  unsigned char *input, *output;
  uint32_t nonce_offset, data_offset, data_length, aad_offset, aad_length;
} buffer_call;

/* Reads and checks the arguments; NULL when they are usable, else what is wrong with them. */
static const char *read_buffer_call(napi_env env, napi_callback_info info, buffer_call *call, int encrypt) {
  size_t argc = 8, input_size, output_size;
  napi_value argv[8];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 8) return "bad arguments: expected 8";
  if (!get_key(env, argv[0], &call->key)) return "bad arguments: not a key handle";
  if (!get_bytes(env, argv[1], &call->input, &input_size) || !get_bytes(env, argv[7], &call->output, &output_size))
    return "bad arguments: input and output must be Uint8Arrays";
  if (!get_u32(env, argv[2], &call->nonce_offset) || !get_u32(env, argv[3], &call->data_offset) ||
      !get_u32(env, argv[4], &call->data_length) || !get_u32(env, argv[5], &call->aad_offset) ||
      !get_u32(env, argv[6], &call->aad_length))
    return "bad arguments: offsets and lengths must be whole numbers";
  if (!in_bounds(input_size, call->nonce_offset, NONCE_LEN)) return "out-of-bounds: nonce";
  if (!in_bounds(input_size, call->aad_offset, call->aad_length)) return "out-of-bounds: associated data";
  if (encrypt ? !in_bounds(input_size, call->data_offset, call->data_length)
              : call->data_length > UINT32_MAX - TAG_LEN ||
                    !in_bounds(input_size, call->data_offset, call->data_length + TAG_LEN))
    return encrypt ? "out-of-bounds: plaintext" : "out-of-bounds: ciphertext and tag";
  if (output_size < (size_t)call->data_length + (encrypt ? TAG_LEN : 0)) return "out-of-bounds: output too small";
  return NULL;
}

/* seal(…): see buffer_call. Returns nothing; throws if OpenSSL fails. */
static napi_value seal(napi_env env, napi_callback_info info) {
  buffer_call call;
  const char *problem = read_buffer_call(env, info, &call, 1);
  if (problem != NULL) return throw_error(env, CODE_ARGUMENT, problem);
  unsigned char *in = call.input;
  if (gcm_run(call.key->enc, 1, in + call.nonce_offset, in + call.aad_offset, call.aad_length, in + call.data_offset,
              call.data_length, call.output, call.output + call.data_length) != 1) {
    OPENSSL_cleanse(call.output, (size_t)call.data_length + TAG_LEN);
    return throw_error(env, CODE_INTERNAL, "OpenSSL failed to encrypt");
  }
  return NULL;
}

/* open(…): see buffer_call. Returns true when the tag verified, false when it did not (output then zeroed). */
static napi_value open_buffer(napi_env env, napi_callback_info info) {
  buffer_call call;
  napi_value result;
  const char *problem = read_buffer_call(env, info, &call, 0);
  if (problem != NULL) return throw_error(env, CODE_ARGUMENT, problem);
  unsigned char *in = call.input;
  int verified = gcm_run(call.key->dec, 0, in + call.nonce_offset, in + call.aad_offset, call.aad_length,
                         in + call.data_offset, call.data_length, call.output, in + call.data_offset + call.data_length);
  if (verified < 0) return throw_error(env, CODE_INTERNAL, "OpenSSL failed to decrypt");
  if (napi_get_boolean(env, verified == 1, &result) != napi_ok) return NULL;
  return result;
}

/*
 * 1 + the value of each byte as a standard base64 character (RFC 4648 section 4); 0 for every other byte, '='
 * included. Stored plus one so that the zero-initialised rest of the table means "not base64".
 */
static const unsigned char B64_PLUS_ONE[256] = {
    ['A'] = 1, ['B'] = 2, ['C'] = 3, ['D'] = 4, ['E'] = 5, ['F'] = 6, ['G'] = 7, ['H'] = 8, ['I'] = 9, ['J'] = 10,
    ['K'] = 11, ['L'] = 12, ['M'] = 13, ['N'] = 14, ['O'] = 15, ['P'] = 16, ['Q'] = 17, ['R'] = 18, ['S'] = 19,
    ['T'] = 20, ['U'] = 21, ['V'] = 22, ['W'] = 23, ['X'] = 24, ['Y'] = 25, ['Z'] = 26, ['a'] = 27, ['b'] = 28,
    ['c'] = 29, ['d'] = 30, ['e'] = 31, ['f'] = 32, ['g'] = 33, ['h'] = 34, ['i'] = 35, ['j'] = 36, ['k'] = 37,
    ['l'] = 38, ['m'] = 39, ['n'] = 40, ['o'] = 41, ['p'] = 42, ['q'] = 43, ['r'] = 44, ['s'] = 45, ['t'] = 46,
    ['u'] = 47, ['v'] = 48, ['w'] = 49, ['x'] = 50, ['y'] = 51, ['z'] = 52, ['0'] = 53, ['1'] = 54, ['2'] = 55,
    ['3'] = 56, ['4'] = 57, ['5'] = 58, ['6'] = 59, ['7'] = 60, ['8'] = 61, ['9'] = 62, ['+'] = 63, ['/'] = 64,
};

/* The 6-bit value of a base64 character, or -1. */
#define B64(c) ((int)B64_PLUS_ONE[(unsigned char)(c)] - 1)

/*
 * Decodes standard padded base64: length a multiple of 4 and not 0, alphabet only, '=' only as the last one or two
 * characters. Returns the byte count, or -1 when the text is not such base64. `dst` may be `src` itself or lie
 * before it: each group of 4 characters is read in full before its (at most 3) bytes are written.
 */
static long b64_decode(const unsigned char *src, size_t n, unsigned char *dst) {
  size_t out = 0, i = 0;
  if (n == 0 || n % 4 != 0) return -1;
  for (; i + 4 < n; i += 4) { /* every group but the last: four alphabet characters */
    int a = B64(src[i]), b = B64(src[i + 1]), c = B64(src[i + 2]), d = B64(src[i + 3]);
    if ((a | b | c | d) < 0) return -1;
    uint32_t group = (uint32_t)a << 18 | (uint32_t)b << 12 | (uint32_t)c << 6 | (uint32_t)d;
    dst[out] = (unsigned char)(group >> 16);
    dst[out + 1] = (unsigned char)(group >> 8);
    dst[out + 2] = (unsigned char)group;
    out += 3;
  }
  /* The last group: "abcd", "abc=" or "ab==". */
  int a = B64(src[i]), b = B64(src[i + 1]), c = B64(src[i + 2]), d = B64(src[i + 3]);
  int pad_c = src[i + 2] == '=', pad_d = src[i + 3] == '=';
  if (a < 0 || b < 0 || (c < 0 && !(pad_c && pad_d)) || (d < 0 && !pad_d)) return -1;
  dst[out++] = (unsigned char)(a << 2 | b >> 4);
  if (pad_c) return (long)out;
  dst[out++] = (unsigned char)((b & 15) << 4 | c >> 2);
  if (pad_d) return (long)out;
  dst[out++] = (unsigned char)((c & 3) << 6 | d);
  return (long)out;
}

#define OPEN_AUTH_FAILED (-1)
#define OPEN_MALFORMED (-2)
#define OPEN_OUTPUT_TOO_SMALL (-3)
#define OPEN_INTERNAL (-4)

/*
 * Parses `text[start, length)` as base64(12-byte nonce) ":" base64(ciphertext ‖ 16-byte tag) — the grammar of
 * docs/encryption.md, accepting exactly what src/encryption-key.ts's parser accepts (a differential test holds
 * them to it) — and opens it into `output`. The body is decoded in place, over the copy of the text.
 * Returns the plaintext length, or one of the OPEN_ codes.
 */
static long open_text_bytes(gcm_key *key, unsigned char *text, size_t length, size_t start, const unsigned char *aad,
                            size_t aad_length, unsigned char *output, size_t output_size) {
  unsigned char nonce[NONCE_LEN];
  if (start > length) return OPEN_MALFORMED;
  const unsigned char *separator = memchr(text + start, ':', length - start);
  if (separator == NULL || (size_t)(separator - text) - start != 16) return OPEN_MALFORMED;
  if (b64_decode(text + start, 16, nonce) != NONCE_LEN) return OPEN_MALFORMED;
  size_t body_offset = (size_t)(separator - text) + 1;
  long body_length = b64_decode(text + body_offset, length - body_offset, text);
  if (body_length < TAG_LEN) return OPEN_MALFORMED;
  size_t data_length = (size_t)body_length - TAG_LEN;
  if (output_size < data_length) return OPEN_OUTPUT_TOO_SMALL;
  int verified = gcm_run(key->dec, 0, nonce, aad, aad_length, text, data_length, output, text + data_length);
  return verified == 1 ? (long)data_length : verified == 0 ? OPEN_AUTH_FAILED : OPEN_INTERNAL;
}

/* A string's UTF-8 bytes (lone surrogates as U+FFFD, as Buffer.from does) in `stack` or, if too long, the heap. */
static unsigned char *utf8_of(napi_env env, napi_value value, unsigned char *stack, size_t stack_size, size_t *length) {
  size_t copied;
  if (napi_get_value_string_utf8(env, value, NULL, 0, length) != napi_ok) return NULL;
  unsigned char *bytes = *length < stack_size ? stack : malloc(*length + 1);
  if (bytes == NULL) return NULL;
  if (napi_get_value_string_utf8(env, value, (char *)bytes, *length + 1, &copied) != napi_ok || copied != *length) {
    if (bytes != stack) free(bytes);
    return NULL;
  }
  return bytes;
}

/*
 * openText(key, text: string, start: number, aad: string | null, output: Uint8Array): number
 * Opens the ciphertext string `text` from `start` (after a version prefix) with `aad`'s UTF-8 bytes as associated
 * data. Returns the plaintext length (the plaintext is in output[0, length)), -1 when the tag did not verify, -2
 * when the text is not in the format (the caller's parser then says why), -3 when `output` is too small.
 */
static napi_value open_text(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  gcm_key *key;
  uint32_t start;
  unsigned char *output;
  size_t output_size;
  napi_valuetype text_type, aad_type;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 5)
    return throw_error(env, CODE_ARGUMENT, "bad arguments: openText expects 5");
  if (!get_key(env, argv[0], &key)) return throw_error(env, CODE_ARGUMENT, "bad arguments: not a key handle");
  if (napi_typeof(env, argv[1], &text_type) != napi_ok || text_type != napi_string ||
      napi_typeof(env, argv[3], &aad_type) != napi_ok || (aad_type != napi_string && aad_type != napi_null))
    return throw_error(env, CODE_ARGUMENT, "bad arguments: text must be a string, aad a string or null");
  if (!get_u32(env, argv[2], &start)) return throw_error(env, CODE_ARGUMENT, "bad arguments: start");
  if (!get_bytes(env, argv[4], &output, &output_size))
    return throw_error(env, CODE_ARGUMENT, "bad arguments: output must be a Uint8Array");

  unsigned char text_stack[2048], aad_stack[512];
  unsigned char *text = NULL, *aad = NULL;
  size_t text_length = 0, aad_length = 0;
  long result = OPEN_INTERNAL;
  text = utf8_of(env, argv[1], text_stack, sizeof text_stack, &text_length);
  if (text != NULL && aad_type == napi_string) aad = utf8_of(env, argv[3], aad_stack, sizeof aad_stack, &aad_length);
  if (text != NULL && (aad_type == napi_null || aad != NULL))
    result = open_text_bytes(key, text, text_length, start, aad, aad_length, output, output_size);
  if (text != NULL && text != text_stack) free(text);
  if (aad != NULL && aad != aad_stack) free(aad);
  if (result == OPEN_INTERNAL) return throw_error(env, CODE_INTERNAL, "OpenSSL failed to decrypt, or out of memory");
  napi_value value;
  if (napi_create_int64(env, result, &value) != napi_ok) return NULL;
  return value;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor properties[] = {
      {"createKey", NULL, create_key, NULL, NULL, NULL, napi_enumerable, NULL},
      {"seal", NULL, seal, NULL, NULL, NULL, napi_enumerable, NULL},
      {"open", NULL, open_buffer, NULL, NULL, NULL, napi_enumerable, NULL},
      {"openText", NULL, open_text, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  napi_value version;
  if (napi_define_properties(env, exports, sizeof properties / sizeof properties[0], properties) != napi_ok)
    return NULL;
  if (napi_create_string_utf8(env, OpenSSL_version(OPENSSL_VERSION), NAPI_AUTO_LENGTH, &version) != napi_ok)
    return NULL;
  if (napi_set_named_property(env, exports, "openssl", version) != napi_ok) return NULL;
  return exports;
}

NAPI_MODULE_INIT() { return init(env, exports); }
