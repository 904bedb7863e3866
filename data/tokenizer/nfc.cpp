#include "data/tokenizer/nfc.h"

#include <climits>
#include <stdexcept>

#ifdef MERINO_HAVE_ICU
#include <unicode/bytestream.h>
#include <unicode/normalizer2.h>
#include <unicode/stringpiece.h>
#endif

namespace merino::tok {

bool nfc_available() {
#ifdef MERINO_HAVE_ICU
  return true;
#else
  return false;
#endif
}

bool trivially_nfc(std::string_view text) {
  for (unsigned char b : text) {
    if (b >= 0xCC) return false;
  }
  return true;
}

void nfc_normalize(std::string_view text, std::string& out) {
  out.clear();
#ifdef MERINO_HAVE_ICU
  if (text.size() > static_cast<size_t>(INT32_MAX)) {
    throw std::runtime_error("merino tokenizer: NFC normalisation of a text over 2 GiB is not supported");
  }
  UErrorCode status = U_ZERO_ERROR;
  const icu::Normalizer2* nfc = icu::Normalizer2::getNFCInstance(status);
  const icu::StringPiece in(text.data(), static_cast<int32_t>(text.size()));
  if (U_SUCCESS(status) && nfc->isNormalizedUTF8(in, status) && U_SUCCESS(status)) {
    out.assign(text);
    return;
  }
  status = U_ZERO_ERROR;
  icu::StringByteSink<std::string> sink(&out);
  nfc->normalizeUTF8(0, in, sink, nullptr, status);
  if (U_FAILURE(status)) {
    throw std::runtime_error(std::string("merino tokenizer: ICU NFC normalisation failed: ") + u_errorName(status));
  }
#else
  (void)text;
  throw std::runtime_error("merino tokenizer: NFC normalisation needs ICU, and this build has none");
#endif
}

}  // namespace merino::tok
