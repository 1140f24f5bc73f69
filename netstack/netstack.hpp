// SPDX-License-Identifier: Apache-2.0
// The netstack public API in one include: the shared lwIP stack
// (stack.hpp), blocking sockets (sockets.hpp), fd bridge (fd_bridge.hpp),
// the callback cores (tcp_core.hpp, tcp_listener_core.hpp, udp_core.hpp)
// and the core lock (core_lock.hpp). No lwIP or CAF header leaks from here.
#pragma once

#include "netstack/core_lock.hpp"
#include "netstack/fd_bridge.hpp"
#include "netstack/sockets.hpp"
#include "netstack/stack.hpp"
