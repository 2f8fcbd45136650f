package pdu

import "encoding/binary"

// Tag is the tag of an optional parameter (TLV).
type Tag uint16

// TLV tags of SMPP v3.4 (section 5.3.2) that optguard reads or writes.
const (
	TagDestAddrSubunit          Tag = 0x0005
	TagDestNetworkType          Tag = 0x0006
	TagDestBearerType           Tag = 0x0007
	TagDestTelematicsID         Tag = 0x0008
	TagSourceAddrSubunit        Tag = 0x000D
	TagSourceNetworkType        Tag = 0x000E
	TagSourceBearerType         Tag = 0x000F
	TagSourceTelematicsID       Tag = 0x0010
	TagQosTimeToLive            Tag = 0x0017
	TagPayloadType              Tag = 0x0019
	TagAdditionalStatusInfoText Tag = 0x001D
	TagReceiptedMessageID       Tag = 0x001E
	TagMsMsgWaitFacilities      Tag = 0x0030
	TagPrivacyIndicator         Tag = 0x0201
	TagSourceSubaddress         Tag = 0x0202
	TagDestSubaddress           Tag = 0x0203
	TagUserMessageReference     Tag = 0x0204
	TagUserResponseCode         Tag = 0x0205
	TagSourcePort               Tag = 0x020A
	TagDestinationPort          Tag = 0x020B
	TagSarMsgRefNum             Tag = 0x020C
	TagLanguageIndicator        Tag = 0x020D
	TagSarTotalSegments         Tag = 0x020E
	TagSarSegmentSeqnum         Tag = 0x020F
	TagScInterfaceVersion       Tag = 0x0210
	TagCallbackNumPresInd       Tag = 0x0302
	TagCallbackNumAtag          Tag = 0x0303
	TagNumberOfMessages         Tag = 0x0304
	TagCallbackNum              Tag = 0x0381
	TagDpfResult                Tag = 0x0420
	TagSetDpf                   Tag = 0x0421
	TagMsAvailabilityStatus     Tag = 0x0422
	TagNetworkErrorCode         Tag = 0x0423
	TagMessagePayload           Tag = 0x0424
	TagDeliveryFailureReason    Tag = 0x0425
	TagMoreMessagesToSend       Tag = 0x0426
	TagMessageState             Tag = 0x0427
	TagUssdServiceOp            Tag = 0x0501
	TagDisplayTime              Tag = 0x1201
	TagSmsSignal                Tag = 0x1203
	TagMsValidity               Tag = 0x1204
	TagAlertOnMessageDelivery   Tag = 0x130C
	TagItsReplyType             Tag = 0x1380
	TagItsSessionInfo           Tag = 0x1383
)

// TLV errors.
var (
	ErrTLVHeader = statusErr(ESME_RINVOPTPARSTREAM, "TLV header truncated")
	ErrTLVLength = statusErr(ESME_RINVPARLEN, "TLV length runs past the end of the PDU")
)

// TLVs is the optional-parameter part of a PDU body, as scanned: every TLV in it
// has been checked to lie within it, so reading it cannot fail.
type TLVs []byte

// CheckTLVs verifies that b is a well-formed sequence of TLVs: each has a
// four-octet header and a value that ends within b.
func CheckTLVs(b []byte) error {
	for len(b) > 0 {
		if len(b) < 4 {
			return ErrTLVHeader
		}
		n := int(binary.BigEndian.Uint16(b[2:4]))
		if n > len(b)-4 {
			return ErrTLVLength
		}
		b = b[4+n:]
	}
	return nil
}

// Find returns the value of the first TLV with the tag.
func (t TLVs) Find(tag Tag) ([]byte, bool) {
	it := t.Iter()
	for {
		tg, v, ok := it.Next()
		if !ok {
			return nil, false
		}
		if tg == tag {
			return v, true
		}
	}
}

// Iter returns an iterator over the TLVs in wire order.
func (t TLVs) Iter() TLVIter { return TLVIter{b: t} }

// TLVIter walks TLVs without allocating.
type TLVIter struct{ b []byte }

// Next returns the next TLV, or ok=false at the end (or at a malformed tail,
// which a scanned TLVs never has).
func (it *TLVIter) Next() (tag Tag, value []byte, ok bool) {
	if len(it.b) < 4 {
		return 0, nil, false
	}
	n := int(binary.BigEndian.Uint16(it.b[2:4]))
	if n > len(it.b)-4 {
		it.b = nil
		return 0, nil, false
	}
	tag = Tag(binary.BigEndian.Uint16(it.b[0:2]))
	value = it.b[4 : 4+n : 4+n]
	it.b = it.b[4+n:]
	return tag, value, true
}

// TLV is one optional parameter to encode.
type TLV struct {
	Tag   Tag
	Value []byte
}

// AppendTLV appends one TLV to dst.
func AppendTLV(dst []byte, tag Tag, value []byte) []byte {
	dst = binary.BigEndian.AppendUint16(dst, uint16(tag))
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(value)))
	return append(dst, value...)
}
