package mongo

import "encoding/binary"

// OP_REPLY responseFlags bits.
const (
	replyQueryFailure int32 = 1 << 1
	replyAwaitCapable int32 = 1 << 3
)

// appendOpReply appends a whole OP_REPLY carrying one document (cursor id 0) to dst.
func appendOpReply(dst []byte, requestID, responseTo, flags int32, doc []byte) []byte {
	h := MsgHeader{MessageLength: int32(MsgHeaderLen + 20 + len(doc)), RequestID: requestID, ResponseTo: responseTo, OpCode: OpCodeReply}
	dst = appendHeader(dst, h)
	dst = binary.LittleEndian.AppendUint32(dst, uint32(flags))
	dst = binary.LittleEndian.AppendUint64(dst, 0) // cursorID
	dst = binary.LittleEndian.AppendUint32(dst, 0) // startingFrom
	dst = binary.LittleEndian.AppendUint32(dst, 1) // numberReturned
	return append(dst, doc...)
}
