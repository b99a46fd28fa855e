"""The agent-check reply as a quick hand-made Python service would give it:
asyncio, one thread; send the line, close our side, read to the client's
EOF, close. A reference point for rs-agent's replies/s and RSS, nothing more.
Usage: pyoneline.py ADDR PORT [SECONDS]; stops by itself after SECONDS (600)."""
import asyncio
import sys

LINE = b"up ready\n"


async def serve(reader, writer):
    writer.write(LINE)
    try:
        await writer.drain()
        writer.write_eof()
        while await reader.read(512):
            pass
    except (ConnectionError, OSError):
        pass
    writer.close()


async def main(addr, port, seconds):
    server = await asyncio.start_server(serve, addr, port, backlog=128)
    async with server:
        await asyncio.sleep(seconds)


if __name__ == "__main__":
    seconds = float(sys.argv[3]) if len(sys.argv) > 3 else 600.0
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), seconds))
