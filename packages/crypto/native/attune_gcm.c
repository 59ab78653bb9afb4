/*
 * Optional native fast path of @attune/crypto: AES-256-GCM through the OpenSSL that Node itself is built with,
 * holding one initialised EVP_CIPHER_CTX per key and direction. Node's createCipheriv/createDecipheriv build a new
 * cipher object, fetch the algorithm and expand the key on every call; here the key schedule is computed once and
 * each call only sets the nonce. No cryptography is implemented here: every AES and GHASH operation is OpenSSL's.
 *
 * The JavaScript side (src/native.ts) parses formats and validates offsets; this file re-checks every offset and
 * length against the buffers it is given, so a bug there can never make it read or write out of bounds.
 * Key bytes are copied into OpenSSL's context and nowhere else; EVP_CIPHER_CTX_free cleanses them.
 */
#define NAPI_VERSION 8
#include <node_api.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <stdlib.h>

#define KEY_LEN 32
#define NONCE_LEN 12
#define TAG_LEN 16

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
    return throw_error(env, "ATTUNE_CRYPTO_NATIVE_ARGUMENT", "createKey expects a 32-byte Uint8Array");
  gcm_key *key = calloc(1, sizeof(gcm_key));
  if (key == NULL) return throw_error(env, "ATTUNE_CRYPTO_NATIVE_INTERNAL", "out of memory");
  key->enc = EVP_CIPHER_CTX_new();
  key->dec = EVP_CIPHER_CTX_new();
  if (key->enc == NULL || key->dec == NULL || !init_ctx(key->enc, bytes, 1) || !init_ctx(key->dec, bytes, 0)) {
    free_key(key);
    return throw_error(env, "ATTUNE_CRYPTO_NATIVE_INTERNAL", "OpenSSL could not set up AES-256-GCM");
  }
  napi_value external;
  if (napi_create_external(env, key, finalize_key, NULL, &external) != napi_ok) {
    free_key(key);
    return throw_error(env, "ATTUNE_CRYPTO_NATIVE_INTERNAL", "could not create the key handle");
  }
  if (napi_type_tag_object(env, external, &KEY_TAG) != napi_ok)
    return throw_error(env, "ATTUNE_CRYPTO_NATIVE_INTERNAL", "could not tag the key handle");
  return external;
}

/*
 * The arguments shared by seal and open:
 *   (key, input: Uint8Array, nonceOffset, dataOffset, dataLength, aadOffset, aadLength, output: Uint8Array)
 * seal: input[dataOffset, +dataLength) is the plaintext; output receives ciphertext ‖ 16-byte tag.
 * open: input[dataOffset, +dataLength) is the ciphertext and the 16 bytes after it the tag; output receives the
 *       plaintext. Returns true when the tag verified, false when it did not (output then holds zeros).
 */
typedef struct {
  gcm_key *key;
  unsigned char *input;
  unsigned char *output;
  uint32_t nonce_offset, data_offset, data_length, aad_offset, aad_length;
} gcm_call;

/* Reads and checks the arguments; returns NULL when they are usable, else what is wrong with them. */
static const char *read_call(napi_env env, napi_callback_info info, gcm_call *call, int open) {
  size_t argc = 8;
  napi_value argv[8];
  size_t input_size, output_size;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != 8) return "bad arguments: expected 8";
  if (!get_key(env, argv[0], &call->key)) return "bad arguments: not a key handle";
  if (!get_bytes(env, argv[1], &call->input, &input_size) || !get_bytes(env, argv[7], &call->output, &output_size))
    return "bad arguments: input and output must be Uint8Arrays";
  if (!get_u32(env, argv[2], &call->nonce_offset) || !get_u32(env, argv[3], &call->data_offset) ||
      !get_u32(env, argv[4], &call->data_length) || !get_u32(env, argv[5], &call->aad_offset) ||
      !get_u32(env, argv[6], &call->aad_length))
    return "bad arguments: offsets and lengths must be numbers";
  if (call->data_length > (uint32_t)INT32_MAX - TAG_LEN || call->aad_length > (uint32_t)INT32_MAX)
    return "out-of-bounds: length too large";
  if (!in_bounds(input_size, call->nonce_offset, NONCE_LEN)) return "out-of-bounds: nonce";
  if (!in_bounds(input_size, call->aad_offset, call->aad_length)) return "out-of-bounds: associated data";
  if (!in_bounds(input_size, call->data_offset, call->data_length + (open ? TAG_LEN : 0)))
    return open ? "out-of-bounds: ciphertext and tag" : "out-of-bounds: plaintext";
  if (output_size < (size_t)call->data_length + (open ? 0 : TAG_LEN)) return "out-of-bounds: output too small";
  return NULL;
}

static napi_value seal(napi_env env, napi_callback_info info) {
  gcm_call call;
  const char *problem = read_call(env, info, &call, 0);
  if (problem != NULL) return throw_error(env, "ATTUNE_CRYPTO_NATIVE_ARGUMENT", problem);
  EVP_CIPHER_CTX *ctx = call.key->enc;
  unsigned char *out = call.output;
  int length = 0;
  int ok = EVP_EncryptInit_ex(ctx, NULL, NULL, NULL, call.input + call.nonce_offset) == 1;
  if (ok && call.aad_length > 0)
    ok = EVP_EncryptUpdate(ctx, NULL, &length, call.input + call.aad_offset, (int)call.aad_length) == 1;
  if (ok && call.data_length > 0)
    ok = EVP_EncryptUpdate(ctx, out, &length, call.input + call.data_offset, (int)call.data_length) == 1 &&
         (uint32_t)length == call.data_length;
  if (ok) ok = EVP_EncryptFinal_ex(ctx, out + call.data_length, &length) == 1 && length == 0;
  if (ok) ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, TAG_LEN, out + call.data_length) == 1;
  if (!ok) {
    OPENSSL_cleanse(out, (size_t)call.data_length + TAG_LEN);
    return throw_error(env, "ATTUNE_CRYPTO_NATIVE_INTERNAL", "OpenSSL failed to encrypt");
  }
  return NULL;
}

static napi_value open_(napi_env env, napi_callback_info info) {
  gcm_call call;
  const char *problem = read_call(env, info, &call, 1);
  if (problem != NULL) return throw_error(env, "ATTUNE_CRYPTO_NATIVE_ARGUMENT", problem);
  EVP_CIPHER_CTX *ctx = call.key->dec;
  unsigned char *out = call.output;
  unsigned char *tag = call.input + call.data_offset + call.data_length;
  int length = 0;
  int ok = EVP_DecryptInit_ex(ctx, NULL, NULL, NULL, call.input + call.nonce_offset) == 1;
  if (ok && call.aad_length > 0)
    ok = EVP_DecryptUpdate(ctx, NULL, &length, call.input + call.aad_offset, (int)call.aad_length) == 1;
  if (ok && call.data_length > 0)
    ok = EVP_DecryptUpdate(ctx, out, &length, call.input + call.data_offset, (int)call.data_length) == 1 &&
         (uint32_t)length == call.data_length;
  if (ok) ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, TAG_LEN, tag) == 1;
  if (!ok) {
    OPENSSL_cleanse(out, call.data_length);
    return throw_error(env, "ATTUNE_CRYPTO_NATIVE_INTERNAL", "OpenSSL failed to decrypt");
  }
  /* The one outcome that is not an internal error: the tag did not verify. */
  int verified = EVP_DecryptFinal_ex(ctx, out + call.data_length, &length) > 0;
  if (!verified) OPENSSL_cleanse(out, call.data_length);
  napi_value result;
  napi_get_boolean(env, verified, &result);
  return result;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor properties[] = {
      {"createKey", NULL, create_key, NULL, NULL, NULL, napi_enumerable, NULL},
      {"seal", NULL, seal, NULL, NULL, NULL, napi_enumerable, NULL},
      {"open", NULL, open_, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  napi_value version;
  if (napi_define_properties(env, exports, 3, properties) != napi_ok) return NULL;
  if (napi_create_string_utf8(env, OpenSSL_version(OPENSSL_VERSION), NAPI_AUTO_LENGTH, &version) != napi_ok)
    return NULL;
  if (napi_set_named_property(env, exports, "openssl", version) != napi_ok) return NULL;
  return exports;
}

NAPI_MODULE_INIT() { return init(env, exports); }
