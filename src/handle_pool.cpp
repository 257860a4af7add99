#include "handle_pool.hpp"

namespace curlasio::detail {

CURL* handle_pool::take() noexcept {
    if (spare_.empty()) {
        CURL* h = curl_easy_init();
        // Once per handle, not per transfer: libcurl's reset keeps the share.
        if (h && share_ && curl_easy_setopt(h, CURLOPT_SHARE, share_->native_handle()) != CURLE_OK) {
            curl_easy_cleanup(h);
            return nullptr;
        }
        return h;
    }
    CURL* h = spare_.back();
    spare_.pop_back();
    return h;
}

void handle_pool::give_back(CURL* h, bool reusable) noexcept {
    if (!h)
        return;
    if (reusable && !closed_ && spare_.size() < capacity) {
        curl_easy_reset(h);
        spare_.push_back(h); // capacity reserved in the constructor: no throw
        return;
    }
    curl_easy_cleanup(h);
}

void handle_pool::clear() noexcept {
    closed_ = true;
    for (CURL* h : spare_)
        curl_easy_cleanup(h);
    spare_.clear();
}

} // namespace curlasio::detail
