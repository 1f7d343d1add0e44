"""WeChat round trip through the connector and the real servers, with WeChat's side faked locally.

20 followers (by default) chat at once; each posts signed callbacks (every other one in secure
mode) one after another, as WeChat would. Prints the callback round trip p50/p95, how many
answers went back passively (XML within 4.5 s) and how many asynchronously (``success``, then
the customer-service API, whose delivery delay is also printed), and errors. Bounded: a fixed
number of messages and a wall-clock cap; all traffic stays on 127.0.0.1.
Usage: python -m bench.wechat_latency [--users 20] [--messages-each 10]
"""

from __future__ import annotations

import argparse
import itertools
import os
import time
import uuid

from bench.common import bench_servers, machine_facts, run_concurrently, summary_ms
from bot.identity import bindings
from tests.fakes.wechat import FakeWeChatApi, WeChatCaller, new_aes_key

SCRIPT = ["你好", "查一下余额", "信用卡年费怎么收", "what's my balance", "我的基金跌了好多，好担心怎么办",
          "我要转账", "张三", "100", "取消", "谢谢"]
WALL_CLOCK_CAP_S = 600
_msg_ids = itertools.count(int(time.time() * 1000))


def follower(caller: WeChatCaller, api: FakeWeChatApi, count: int, index: int, results: dict,
             deadline: float) -> None:
    openid = "o" + uuid.uuid4().hex[:27]
    bindings.bind(openid, f"demo-wx-{openid[1:13]}")  # a bound follower: the script asks for the balance
    for text in itertools.islice(itertools.cycle(SCRIPT), count):
        if time.monotonic() > deadline:
            results["errors"].append("wall-clock cap reached")
            return
        posted = time.monotonic()
        try:
            reply = caller.post(caller.text_xml(openid, text, next(_msg_ids)), encrypt=True)  # secure mode only
        except Exception as error:  # noqa: BLE001 - counted, the run goes on
            results["errors"].append(repr(error))
            continue
        results["round_trip"].append(reply.seconds)
        if reply.status != 200:
            results["errors"].append(f"HTTP {reply.status} for {text!r}")
        elif reply.body == "success":
            expected = len(api.messages_to(openid)) + 1
            arrived = api.wait_for(openid, expected, timeout=30)
            if len(arrived) < expected:
                results["errors"].append(f"async answer for {text!r} never arrived")
            else:
                results["async"].append(time.monotonic() - posted)
        elif reply.content or reply.msg_type == "transfer_customer_service":
            results["passive"].append(reply.seconds)
        else:
            results["errors"].append(f"empty answer for {text!r}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--messages-each", type=int, default=10)
    args = parser.parse_args()
    creds = {"WECHAT_TOKEN": "bench-token", "WECHAT_APP_ID": "wxbench000000000",
             "WECHAT_APP_SECRET": "bench-secret", "WECHAT_ENCODING_AES_KEY": new_aes_key()}
    api = FakeWeChatApi(creds["WECHAT_APP_ID"], creds["WECHAT_APP_SECRET"]).start()
    os.environ.update(creds, WECHAT_API_BASE=api.url)
    print(f"WeChat connector benchmark; {machine_facts()}")
    servers = bench_servers("wechat")
    try:
        servers.start(timeout=240)
        caller = WeChatCaller(f"{servers.rasa_url}/webhooks/wechat/webhook", creds["WECHAT_TOKEN"],
                              creds["WECHAT_APP_ID"], creds["WECHAT_ENCODING_AES_KEY"])
        warm = WeChatCaller.text_xml("o-warm-up", "你好", next(_msg_ids))
        caller.post(warm)
        levels = [(users, run_level(caller, api, users, args.messages_each)) for users in sorted({1, args.users})]
    finally:
        servers.stop()
        api.stop()
    for users, (results, elapsed) in levels:
        report(users, args.messages_each, results, elapsed)
    print(f"  access_token fetches: {api.token_fetches}")


def run_level(caller: WeChatCaller, api: FakeWeChatApi, users: int, messages_each: int) -> tuple[dict, float]:
    results: dict[str, list] = {"round_trip": [], "passive": [], "async": [], "errors": []}
    deadline = time.monotonic() + WALL_CLOCK_CAP_S
    return results, run_concurrently(users, lambda i: follower(caller, api, messages_each, i, results, deadline))


def report(users: int, messages_each: int, results: dict, elapsed: float) -> None:
    answered = len(results["passive"]) + len(results["async"])
    print(f"{users} concurrent follower(s) x {messages_each} messages, half in secure mode, "
          f"in {elapsed:.1f} s ({len(results['round_trip']) / elapsed:.1f} callbacks/s)")
    print(f"  callback round trip: {summary_ms(results['round_trip'])}")
    if answered:
        print(f"  passive (XML reply):        {len(results['passive'])}/{answered} "
              f"({100 * len(results['passive']) / answered:.1f} %)")
        print(f"  async (customer-service):   {len(results['async'])}/{answered} "
              f"({100 * len(results['async']) / answered:.1f} %)"
              + (f"; delivered after {summary_ms(results['async'])}" if results["async"] else ""))
    print(f"  errors: {len(results['errors'])}" + (f" (first: {results['errors'][0]})" if results["errors"] else ""))


if __name__ == "__main__":
    main()
