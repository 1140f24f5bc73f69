// SPDX-License-Identifier: Apache-2.0
// result<T>: a value or a tf::failure (code + human-readable detail). The return
// type of every fallible runtime/ function. A plain value type.
#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>

#include "runtime/errc.hpp"

namespace tf {

/// failure is a failure code plus a sentence for humans ("state file
/// /x/tailfleet.state: line 3: unexpected end of input").
struct failure {
  errc code = errc::internal;
  std::string detail;

  /// message renders "code: detail" (or just the code).
  std::string message() const {
    std::string out{to_string(code)};
    if (!detail.empty()) {
      out += ": ";
      out += detail;
    }
    return out;
  }
};

inline failure make_error(errc code, std::string detail = {}) {
  return failure{code, std::move(detail)};
}

/// result holds either a T or a failure. Accessing the wrong alternative is a
/// programmer error (asserted).
template <class T>
class [[nodiscard]] result {
public:
  result(T value) : data_(std::in_place_index<0>, std::move(value)) {}
  result(failure err) : data_(std::in_place_index<1>, std::move(err)) {}

  bool ok() const noexcept { return data_.index() == 0; }
  explicit operator bool() const noexcept { return ok(); }

  T& value() & { assert(ok()); return std::get<0>(data_); }
  const T& value() const& { assert(ok()); return std::get<0>(data_); }
  T&& value() && { assert(ok()); return std::get<0>(std::move(data_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const failure& error() const { assert(!ok()); return std::get<1>(data_); }
  errc code() const { return ok() ? errc::ok : error().code; }

private:
  std::variant<T, failure> data_;
};

template <>
class [[nodiscard]] result<void> {
public:
  result() = default;
  result(failure err) : err_(std::move(err)), failed_(true) {}

  bool ok() const noexcept { return !failed_; }
  explicit operator bool() const noexcept { return ok(); }
  const failure& error() const { assert(failed_); return err_; }
  errc code() const { return failed_ ? err_.code : errc::ok; }

private:
  failure err_;
  bool failed_ = false;
};

} // namespace tf
