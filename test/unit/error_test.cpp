// Error categories: libcurl's codes wrapped as they are, timeouts portable
// through boost::system::errc, curlasio::errc, CURLcode and CURLMcode usable
// as error_code enums, curlasio::condition and is_retryable.

#include <curlasio/error.hpp>

#include <boost/system/errc.hpp>
#include <boost/test/unit_test.hpp>

#include <curl/curl.h>

#include <cstring>
#include <set>
#include <string>
#include <system_error>

namespace bs = boost::system;
using curlasio::error_code;

BOOST_AUTO_TEST_SUITE(error_suite)

BOOST_AUTO_TEST_CASE(category_names) {
    BOOST_TEST(std::string(curlasio::curl_easy_category().name()) == "curl.easy");
    BOOST_TEST(std::string(curlasio::curl_multi_category().name()) == "curl.multi");
    BOOST_TEST(std::string(curlasio::curlasio_category().name()) == "curlasio");
    // One instance each, distinct from each other.
    BOOST_TEST((&curlasio::curl_easy_category() == &curlasio::curl_easy_category()));
    BOOST_TEST((curlasio::curl_easy_category() != curlasio::curl_multi_category()));
    BOOST_TEST((curlasio::curl_multi_category() != curlasio::curlasio_category()));
    BOOST_TEST((curlasio::curl_easy_category() != curlasio::curlasio_category()));
}

BOOST_AUTO_TEST_CASE(easy_messages_match_libcurl) {
    for (int v = CURLE_OK; v < CURL_LAST; ++v) {
        const auto c = static_cast<CURLcode>(v);
        const error_code ec = curlasio::make_error_code(c);
        BOOST_TEST_CONTEXT("CURLcode " << v) {
            BOOST_TEST(ec.value() == v);
            BOOST_TEST((ec.category() == curlasio::curl_easy_category()));
            BOOST_TEST(ec.message() == std::string(curl_easy_strerror(c)));
            char buf[512]; // room for any message: content, not truncation, is checked
            BOOST_TEST(std::string(ec.message(buf, sizeof buf)) == curl_easy_strerror(c));
            BOOST_TEST(static_cast<bool>(ec) == (v != CURLE_OK));
        }
    }
}

BOOST_AUTO_TEST_CASE(multi_messages_match_libcurl) {
    for (int v = CURLM_CALL_MULTI_PERFORM; v < CURLM_LAST; ++v) {
        const auto c = static_cast<CURLMcode>(v);
        const error_code ec = curlasio::make_error_code(c);
        BOOST_TEST_CONTEXT("CURLMcode " << v) {
            BOOST_TEST(ec.value() == v);
            BOOST_TEST((ec.category() == curlasio::curl_multi_category()));
            BOOST_TEST(ec.message() == std::string(curl_multi_strerror(c)));
            char buf[512]; // room for any message: content, not truncation, is checked
            BOOST_TEST(std::string(ec.message(buf, sizeof buf)) == curl_multi_strerror(c));
        }
    }
}

BOOST_AUTO_TEST_CASE(timeout_is_errc_timed_out) {
    const error_code ec = curlasio::make_error_code(CURLE_OPERATION_TIMEDOUT);
    BOOST_TEST((ec == bs::errc::timed_out));
    BOOST_TEST((ec == bs::errc::make_error_condition(bs::errc::timed_out)));
    BOOST_TEST((ec.default_error_condition() == bs::errc::make_error_condition(bs::errc::timed_out)));
    // Through the std interop too, for callers using std::errc.
    BOOST_TEST((std::error_code(ec) == std::errc::timed_out));

    // Only the timeout: nothing else in either libcurl category is a timeout.
    for (int v = CURLE_OK; v < CURL_LAST; ++v) {
        if (v == CURLE_OPERATION_TIMEDOUT)
            continue;
        BOOST_TEST_CONTEXT("CURLcode " << v) {
            BOOST_TEST((curlasio::make_error_code(static_cast<CURLcode>(v)) != bs::errc::timed_out));
        }
    }
    for (int v = CURLM_CALL_MULTI_PERFORM; v < CURLM_LAST; ++v)
        BOOST_TEST((curlasio::make_error_code(static_cast<CURLMcode>(v)) != bs::errc::timed_out));
    // The same number in another category is not a curl timeout.
    const error_code other(CURLE_OPERATION_TIMEDOUT, curlasio::curl_multi_category());
    BOOST_TEST((other != bs::errc::timed_out));
    BOOST_TEST((other != ec));
}

BOOST_AUTO_TEST_CASE(other_portable_conditions) {
    BOOST_TEST((curlasio::make_error_code(CURLE_OUT_OF_MEMORY) == bs::errc::not_enough_memory));
    BOOST_TEST((curlasio::make_error_code(CURLE_ABORTED_BY_CALLBACK) == bs::errc::operation_canceled));
    BOOST_TEST((curlasio::make_error_code(CURLE_COULDNT_CONNECT) != bs::errc::connection_refused));
}

BOOST_AUTO_TEST_CASE(errc_messages) {
    using curlasio::errc;
    const errc all[] = {errc::invalid_request,
                        errc::response_too_large,
                        errc::out_of_resources,
                        errc::callback_threw,
                        errc::headers_too_large,
                        errc::request_too_large,
                        errc::engine_moved_from,
                        errc::upload_in_use,
                        errc::operation_in_progress,
                        errc::stream_not_open,
                        errc::queue_full,
                        errc::upload_size_mismatch,
                        errc::upload_overrun,
                        errc::head_not_representable};
    const std::string unknown = curlasio::curlasio_category().message(9999);
    BOOST_TEST(!unknown.empty());
    std::set<std::string> messages;
    for (errc e : all) {
        const std::string msg = curlasio::make_error_code(e).message();
        BOOST_TEST_CONTEXT("errc " << static_cast<int>(e)) {
            BOOST_TEST(!msg.empty());
            BOOST_TEST(msg != unknown);
            BOOST_TEST(messages.insert(msg).second);
        }
    }
    BOOST_TEST(messages.size() == std::size(all));
}

BOOST_AUTO_TEST_CASE(errc_converts_to_error_code) {
    using curlasio::errc;
    const error_code made = curlasio::make_error_code(errc::response_too_large);
    BOOST_TEST(made.value() == static_cast<int>(errc::response_too_large));
    BOOST_TEST((made.category() == curlasio::curlasio_category()));

    error_code ec = errc::invalid_request; // implicit, through is_error_code_enum
    BOOST_TEST(static_cast<bool>(ec));
    BOOST_TEST(ec.value() == 1);
    BOOST_TEST((ec.category() == curlasio::curlasio_category()));
    BOOST_TEST((ec == errc::invalid_request));
    BOOST_TEST((ec != errc::callback_threw));

    ec = errc::callback_threw;
    BOOST_TEST((ec == curlasio::make_error_code(errc::callback_threw)));

    // Same value, different categories: not equal.
    BOOST_TEST((error_code(errc::invalid_request) != curlasio::make_error_code(static_cast<CURLcode>(1))));
    BOOST_TEST((error_code(errc::invalid_request) != curlasio::make_error_code(static_cast<CURLMcode>(1))));
}

// `ec == CURLE_...` compiles and compares value and category, as the
// README's fault table is written.
BOOST_AUTO_TEST_CASE(curl_codes_are_error_code_enums) {
    static_assert(bs::is_error_code_enum<CURLcode>::value);
    static_assert(bs::is_error_code_enum<CURLMcode>::value);
    error_code ec = CURLE_COULDNT_CONNECT; // implicit conversion
    BOOST_TEST((ec.category() == curlasio::curl_easy_category()));
    BOOST_TEST(ec.value() == 7);
    BOOST_TEST((ec == CURLE_COULDNT_CONNECT));
    BOOST_TEST((CURLE_COULDNT_CONNECT == ec));
    BOOST_TEST((ec != CURLE_COULDNT_RESOLVE_HOST));
    BOOST_TEST((ec == curlasio::make_error_code(CURLE_COULDNT_CONNECT)));
    // Same number, another category: not equal.
    BOOST_TEST((ec != static_cast<CURLMcode>(7)));
    BOOST_TEST((error_code(7, bs::system_category()) != CURLE_COULDNT_CONNECT));

    ec = CURLM_OUT_OF_MEMORY;
    BOOST_TEST((ec.category() == curlasio::curl_multi_category()));
    BOOST_TEST((ec == CURLM_OUT_OF_MEMORY));
    BOOST_TEST((ec != CURLE_OUT_OF_MEMORY));

    // Success stays falsy; the timeout stays portable.
    BOOST_TEST(!error_code(CURLE_OK));
    BOOST_TEST((error_code(CURLE_OPERATION_TIMEDOUT) == bs::errc::timed_out));
    // The global and the curlasio:: spelling are one function.
    BOOST_TEST((make_error_code(CURLE_SEND_ERROR) == curlasio::make_error_code(CURLE_SEND_ERROR)));
}

namespace {

using curlasio::condition;

// Which CURLcodes belong to each condition: the whole list, so that a code
// moving in or out of a class is a visible change.
std::set<int> expected_members(condition c) {
    switch (c) {
    case condition::connect_failed:
        return {CURLE_COULDNT_CONNECT};
    case condition::timed_out:
        return {CURLE_OPERATION_TIMEDOUT};
    case condition::dns:
        return {CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY};
    case condition::tls:
        return {CURLE_SSL_CONNECT_ERROR,
                CURLE_SSL_ENGINE_NOTFOUND,
                CURLE_SSL_ENGINE_SETFAILED,
                CURLE_SSL_CERTPROBLEM,
                CURLE_SSL_CIPHER,
                CURLE_PEER_FAILED_VERIFICATION,
                CURLE_USE_SSL_FAILED,
                CURLE_SSL_ENGINE_INITFAILED,
                CURLE_SSL_CACERT_BADFILE,
                CURLE_SSL_SHUTDOWN_FAILED,
                CURLE_SSL_CRL_BADFILE,
                CURLE_SSL_ISSUER_ERROR,
                CURLE_SSL_PINNEDPUBKEYNOTMATCH,
                CURLE_SSL_INVALIDCERTSTATUS,
                CURLE_SSL_CLIENTCERT};
    case condition::transient:
        return {CURLE_COULDNT_CONNECT, CURLE_OPERATION_TIMEDOUT, CURLE_SEND_ERROR,  CURLE_RECV_ERROR,
                CURLE_GOT_NOTHING,     CURLE_PARTIAL_FILE,       CURLE_HTTP2_STREAM};
    }
    return {};
}

const condition all_conditions[] = {condition::connect_failed, condition::timed_out, condition::tls,
                                    condition::dns, condition::transient};

} // namespace

BOOST_AUTO_TEST_CASE(conditions_classify_every_curl_code) {
    for (condition c : all_conditions) {
        const std::set<int> members = expected_members(c);
        for (int v = CURLE_OK; v < CURL_LAST; ++v) {
            const error_code ec = static_cast<CURLcode>(v);
            BOOST_TEST_CONTEXT("condition " << static_cast<int>(c) << ", CURLcode " << v) {
                BOOST_TEST((ec == c) == (members.count(v) == 1));
                BOOST_TEST((c == ec) == (members.count(v) == 1));
                BOOST_TEST((ec != c) == (members.count(v) == 0));
            }
        }
    }
    BOOST_TEST((error_code(CURLE_COULDNT_CONNECT) == condition::connect_failed));
    BOOST_TEST((error_code(CURLE_OPERATION_TIMEDOUT) == condition::timed_out));
    BOOST_TEST((error_code(CURLE_PEER_FAILED_VERIFICATION) == condition::tls));
    BOOST_TEST((error_code(CURLE_COULDNT_RESOLVE_HOST) == condition::dns));
    BOOST_TEST((error_code(CURLE_RECV_ERROR) == condition::transient));
    // Success is in no class.
    for (condition c : all_conditions)
        BOOST_TEST((error_code() != c));
}

BOOST_AUTO_TEST_CASE(conditions_of_other_categories) {
    for (condition c : all_conditions) {
        BOOST_TEST_CONTEXT("condition " << static_cast<int>(c)) {
            // The library's own codes and the multi codes are in no class.
            for (int v = 1; v <= static_cast<int>(curlasio::errc::engine_moved_from); ++v)
                BOOST_TEST((error_code(static_cast<curlasio::errc>(v)) != c));
            for (int v = CURLM_CALL_MULTI_PERFORM; v < CURLM_LAST; ++v)
                BOOST_TEST((error_code(static_cast<CURLMcode>(v)) != c));
            // Cancellation is no failure class.
            BOOST_TEST((error_code(bs::errc::make_error_code(bs::errc::operation_canceled)) != c));
        }
    }
    // Any category's own timeout is timed_out and transient; nothing else of it.
    const error_code etimedout(ETIMEDOUT, bs::system_category());
    const error_code generic_timeout = bs::errc::make_error_code(bs::errc::timed_out);
    for (const error_code& ec : {etimedout, generic_timeout}) {
        BOOST_TEST((ec == condition::timed_out));
        BOOST_TEST((ec == condition::transient));
        BOOST_TEST((ec != condition::connect_failed));
        BOOST_TEST((ec != condition::tls));
        BOOST_TEST((ec != condition::dns));
    }
    BOOST_TEST((error_code(ECONNREFUSED, bs::system_category()) != condition::connect_failed));
}

BOOST_AUTO_TEST_CASE(condition_category_and_messages) {
    const auto& cat = curlasio::curlasio_condition_category();
    BOOST_TEST(std::string(cat.name()) == "curlasio.condition");
    BOOST_TEST((cat != curlasio::curlasio_category()));
    const bs::error_condition cond = condition::tls; // implicit, through is_error_condition_enum
    BOOST_TEST((cond.category() == cat));
    BOOST_TEST(cond.value() == static_cast<int>(condition::tls));
    BOOST_TEST((cond == curlasio::make_error_condition(condition::tls)));
    std::set<std::string> messages;
    const std::string unknown = cat.message(9999);
    for (condition c : all_conditions) {
        const std::string msg = curlasio::make_error_condition(c).message();
        BOOST_TEST_CONTEXT("condition " << static_cast<int>(c)) {
            BOOST_TEST(!msg.empty());
            BOOST_TEST(msg != unknown);
            BOOST_TEST(messages.insert(msg).second);
        }
    }
}

BOOST_AUTO_TEST_CASE(is_retryable_is_the_transient_class) {
    using curlasio::is_retryable;
    BOOST_TEST(!is_retryable(error_code()));
    BOOST_TEST(!is_retryable(CURLE_OK));
    for (int v = CURLE_OK; v < CURL_LAST; ++v) {
        const error_code ec = static_cast<CURLcode>(v);
        BOOST_TEST_CONTEXT("CURLcode " << v) { BOOST_TEST(is_retryable(ec) == (ec == condition::transient)); }
    }
    BOOST_TEST(is_retryable(CURLE_COULDNT_CONNECT));
    BOOST_TEST(is_retryable(CURLE_RECV_ERROR));
    BOOST_TEST(is_retryable(CURLE_OPERATION_TIMEDOUT));
    BOOST_TEST(!is_retryable(CURLE_COULDNT_RESOLVE_HOST));
    BOOST_TEST(!is_retryable(CURLE_PEER_FAILED_VERIFICATION));
    BOOST_TEST(!is_retryable(CURLE_TOO_MANY_REDIRECTS));
    BOOST_TEST(!is_retryable(curlasio::errc::invalid_request));
    BOOST_TEST(!is_retryable(curlasio::errc::response_too_large));
    BOOST_TEST(!is_retryable(curlasio::errc::callback_threw));
    BOOST_TEST(!is_retryable(bs::errc::make_error_code(bs::errc::operation_canceled)));
}

BOOST_AUTO_TEST_SUITE_END()
