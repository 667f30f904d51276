"""HJ 212-2017, the data transmission standard of China's online monitoring systems, as pure code.

``frame`` splits a TCP stream into packets and checks length and CRC; ``segment`` parses a
data segment into typed structs; ``reply`` builds the platform's answers; ``factors`` maps
factor codes to the feeds' fields; ``readings`` turns a data packet into a feed message.
Every failure is an :class:`~schemas.hj212.errors.Hj212Error` with a code and a reason.
"""
