"""The turn gate of the Rasa server (bot/rasa_ext/turn_gate.py): at most N turns inside, the
others admitted in arrival order as places free up; 0 lets every turn in at once."""

import asyncio

from bot.rasa_ext import turn_gate


async def _run(at_once: int, turns: int) -> tuple[int, list[int]]:
    inside = 0
    most = 0
    admitted: list[int] = []
    release = asyncio.Event()

    async def turn(number: int) -> None:
        nonlocal inside, most
        async with turn_gate.admitted(at_once):
            inside += 1
            most = max(most, inside)
            admitted.append(number)
            await release.wait()
            await asyncio.sleep(0)
            inside -= 1

    tasks = []
    for number in range(turns):
        tasks.append(asyncio.create_task(turn(number)))
        await asyncio.sleep(0)  # arrivals in this order
    for _ in range(5):
        await asyncio.sleep(0)
    inside_before_release = len(admitted)
    release.set()
    await asyncio.gather(*tasks)
    assert inside_before_release == (min(at_once, turns) if at_once > 0 else turns)
    return most, admitted


def test_at_most_n_inside_and_admitted_in_arrival_order():
    most, admitted = asyncio.run(_run(3, 10))
    assert most == 3
    assert admitted == list(range(10))


def test_zero_admits_every_turn_at_once():
    most, admitted = asyncio.run(_run(0, 10))
    assert most == 10 and sorted(admitted) == list(range(10))


def test_a_failing_turn_frees_its_place():
    async def main() -> int:
        async def fail() -> None:
            async with turn_gate.admitted(1):
                raise RuntimeError("the turn failed")

        for _ in range(3):
            try:
                await fail()
            except RuntimeError:
                pass
        async with turn_gate.admitted(1):
            return 1

    assert asyncio.run(asyncio.wait_for(main(), 5)) == 1
