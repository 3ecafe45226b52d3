#!/usr/bin/env python3
"""An independent reader of TensorBoard event files, for the tests.

It shares no code with the C++ writer: its own CRC-32C, its own protobuf wire decoder, and the
field numbers of TensorBoard's event.proto / summary.proto / tensor.proto. Every record's two masked
CRCs are checked; a bad one, a truncated record or an undecodable Event exits with status 1.
Prints a JSON list with one object per Event.

usage: read_tfevents.py EVENT_FILE
"""
import json
import math
import struct
import sys


def crc32c(data):
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def masked(data):
    c = crc32c(data)
    return (((c >> 15) | (c << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def fields(buf):
    """Yields (field number, wire type, value) of one protobuf message."""
    i = 0
    while i < len(buf):
        key, i = varint(buf, i)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, i = varint(buf, i)
        elif wire == 1:
            value, i = buf[i:i + 8], i + 8
        elif wire == 2:
            n, i = varint(buf, i)
            value, i = buf[i:i + n], i + n
        elif wire == 5:
            value, i = buf[i:i + 4], i + 4
        else:
            raise ValueError("unsupported wire type %d" % wire)
        if i > len(buf):
            raise ValueError("field %d runs past the end of its message" % number)
        yield number, wire, value


def varint(buf, i):
    shift = result = 0
    while True:
        b = buf[i]
        i += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, i
        shift += 7


def decode_value(buf):
    out = {}
    for number, _, value in fields(buf):
        if number == 1:
            out["tag"] = value.decode("utf-8")
        elif number == 2:
            v = struct.unpack("<f", value)[0]
            out["simple_value"] = "nan" if math.isnan(v) else v
        elif number == 9:
            for n2, _, v2 in fields(value):
                if n2 == 1:
                    for n3, _, v3 in fields(v2):
                        if n3 == 1:
                            out["plugin_name"] = v3.decode("utf-8")
        elif number == 8:
            tensor = {"string_val": [], "shape": []}
            for n2, _, v2 in fields(value):
                if n2 == 1:
                    tensor["dtype"] = v2
                elif n2 == 2:
                    for n3, _, v3 in fields(v2):
                        if n3 == 2:
                            tensor["shape"].append(dict((n, v) for n, _, v in fields(v3)).get(1, 0))
                elif n2 == 8:
                    tensor["string_val"].append(v2.decode("utf-8"))
            out["tensor"] = tensor
    return out


def decode_event(buf):
    event = {"step": 0, "values": []}
    for number, _, value in fields(buf):
        if number == 1:
            event["wall_time"] = struct.unpack("<d", value)[0]
        elif number == 2:
            event["step"] = value
        elif number == 3:
            event["file_version"] = value.decode("utf-8")
        elif number == 5:
            for n2, _, v2 in fields(value):
                if n2 == 1:
                    event["values"].append(decode_value(v2))
        elif number == 10:
            event["source_writer"] = dict((n, v) for n, _, v in fields(value)).get(1, b"").decode("utf-8")
    return event


def read(path):
    data = open(path, "rb").read()
    events, i = [], 0
    while i < len(data):
        if i + 12 > len(data):
            raise ValueError("truncated record header at byte %d" % i)
        header = data[i:i + 8]
        (length,) = struct.unpack("<Q", header)
        (header_crc,) = struct.unpack("<I", data[i + 8:i + 12])
        if header_crc != masked(header):
            raise ValueError("bad length CRC at byte %d" % i)
        payload = data[i + 12:i + 12 + length]
        if len(payload) != length or i + 16 + length > len(data):
            raise ValueError("truncated record at byte %d" % i)
        (payload_crc,) = struct.unpack("<I", data[i + 12 + length:i + 16 + length])
        if payload_crc != masked(payload):
            raise ValueError("bad data CRC at byte %d" % i)
        events.append(decode_event(payload))
        i += 16 + length
    return events


if __name__ == "__main__":
    try:
        print(json.dumps(read(sys.argv[1])))
    except (ValueError, IndexError, UnicodeDecodeError) as error:
        print("read_tfevents: %s: %s" % (sys.argv[1], error), file=sys.stderr)
        sys.exit(1)
