package pdu

// Hand-assembled PDUs, byte for byte from the layouts of SMPP v3.4 section 4
// (submit_sm 4.4.1, deliver_sm 4.6.1, data_sm 4.7.1, submit_multi 4.5.1,
// bind_transceiver 4.1.5, the *_resp layouts next to them). Each line is one
// field; its comment names it. mustPDU checks each hand-written command_length.

// hexSubmitSM: binary user data behind a concatenation UDH (esm_class UDHI,
// data_coding 0x04), a relative validity period of exactly 17 octets (the
// maximum), and two TLVs, one of them vendor-specific (0x1400).
const hexSubmitSM = `
00000061                            // command_length 97
00000004                            // command_id submit_sm
00000000                            // command_status
0000002a                            // sequence_number 42
434d5400                            // service_type "CMT"
05                                  // source_addr_ton alphanumeric
00                                  // source_addr_npi unknown
4f70744775617264 00                 // source_addr "OptGuard"
01                                  // dest_addr_ton international
01                                  // dest_addr_npi E.164
343437373030393030313233 00         // destination_addr "447700900123"
40                                  // esm_class UDHI
00                                  // protocol_id
01                                  // priority_flag
00                                  // schedule_delivery_time NULL: immediate
30303030303130303030303030303052 00 // validity_period "000001000000000R" (16 + NUL = 17)
01                                  // registered_delivery receipt
00                                  // replace_if_present_flag
04                                  // data_coding 8-bit binary
00                                  // sm_default_msg_id
0c                                  // sm_length 12
050003a70201 deadbeef00ff           // short_message UDH(concat ref 0xa7, 2 parts, part 1) + 6 octets
0204 0002 0001                      // tlv_user_message_reference
1400 0003 aabbcc                    // tlv_vendor_1400
`

// hexDeliverMO: a mobile-originated "STOP" in the GSM default alphabet.
const hexDeliverMO = `
00000035                    // command_length 53
00000005                    // command_id deliver_sm
00000000                    // command_status
00000007                    // sequence_number
00                          // service_type NULL
01                          // source_addr_ton
01                          // source_addr_npi
"15551234567" 00            // source_addr handset
00                          // dest_addr_ton
00                          // dest_addr_npi
"12345" 00                  // destination_addr short code
00                          // esm_class default: MO message
00                          // protocol_id
00                          // priority_flag
00                          // schedule_delivery_time
00                          // validity_period
00                          // registered_delivery
00                          // replace_if_present_flag
00                          // data_coding GSM 03.38
00                          // sm_default_msg_id
04                          // sm_length
"STOP"                      // short_message
`

// hexDeliverReceipt: an SMSC delivery receipt (esm_class 0x04) with the text of
// appendix B and the receipted_message_id and message_state TLVs.
const hexDeliverReceipt = `
000000a4                    // command_length 164
00000005                    // command_id deliver_sm
00000000                    // command_status
00000008                    // sequence_number
00                          // service_type
01                          // source_addr_ton
01                          // source_addr_npi
"15551234567" 00            // source_addr
00                          // dest_addr_ton
00                          // dest_addr_npi
"12345" 00                  // destination_addr
04                          // esm_class SMSC delivery receipt
00                          // protocol_id
00                          // priority_flag
00                          // schedule_delivery_time
00                          // validity_period
00                          // registered_delivery
00                          // replace_if_present_flag
00                          // data_coding
00                          // sm_default_msg_id
65                          // sm_length 101
"id:4F2A sub:001 dlvrd:001 submit date:2611231530 done date:2611231531 stat:DELIVRD err:000 text:Hello" // short_message
001e 0005 "4F2A" 00         // tlv_receipted_message_id
0427 0001 02                // tlv_message_state DELIVERED
`

// hexDataSM: both addresses at data_sm's 65-octet maximum, text in a
// message_payload TLV.
const hexDataSM = `
000000a5                    // command_length 165
00000103                    // command_id data_sm
00000000                    // command_status
00000009                    // sequence_number
"WAP" 00                    // service_type
00                          // source_addr_ton
00                          // source_addr_npi
"sip:0123456789012345678901234567890123456789012345678901234@a.io" 00 // source_addr 64 + NUL = 65
01                          // dest_addr_ton
01                          // dest_addr_npi
"9876543210987654321098765432109876543210987654321098765432109876" 00 // destination_addr 64 + NUL = 65
00                          // esm_class
01                          // registered_delivery
08                          // data_coding UCS2
0424 0004 00480069          // tlv_message_payload "Hi" in UCS2
`

// hexSubmitMulti: two SME destinations around a distribution list.
const hexSubmitMulti = `
00000056                    // command_length 86
00000021                    // command_id submit_multi
00000000                    // command_status
0000000a                    // sequence_number
00                          // service_type
01                          // source_addr_ton
01                          // source_addr_npi
"15550001111" 00            // source_addr
03                          // number_of_dests
01                          // dest1.dest_flag SME address
01                          // dest1.dest_addr_ton
01                          // dest1.dest_addr_npi
"15551234567" 00            // dest1.destination_addr
02                          // dest2.dest_flag distribution list
"friends" 00                // dest2.dl_name
01                          // dest3.dest_flag SME address
00                          // dest3.dest_addr_ton
00                          // dest3.dest_addr_npi
"12345" 00                  // dest3.destination_addr
00                          // esm_class
00                          // protocol_id
00                          // priority_flag
00                          // schedule_delivery_time
00                          // validity_period
00                          // registered_delivery
00                          // replace_if_present_flag
00                          // data_coding
00                          // sm_default_msg_id
05                          // sm_length
"Hello"                     // short_message
0204 0002 0001              // tlv_user_message_reference
`

// hexBindTRX: a bind_transceiver for SMPP v3.4.
const hexBindTRX = `
0000002d                    // command_length 45
00000009                    // command_id bind_transceiver
00000000                    // command_status
00000001                    // sequence_number
"optguard" 00               // system_id
"secret" 00                 // password
"VMA" 00                    // system_type
34                          // interface_version 3.4
01                          // addr_ton
01                          // addr_npi
"^1555" 00                  // address_range
`

// hexBindTRXResp: bind_transceiver_resp with the sc_interface_version TLV.
const hexBindTRXResp = `
0000001b                    // command_length 27
80000009                    // command_id bind_transceiver_resp
00000000                    // command_status
00000001                    // sequence_number
"SMSC1" 00                  // system_id
0210 0001 34                // tlv_sc_interface_version
`

// hexSubmitSMResp: submit_sm_resp carrying the SMSC's message_id.
const hexSubmitSMResp = `
00000019                    // command_length 25
80000004                    // command_id submit_sm_resp
00000000                    // command_status
0000002a                    // sequence_number
"msg-0001" 00               // message_id
`

// hexSubmitSMRespErr: the header-only error form.
const hexSubmitSMRespErr = `
00000010                    // command_length 16
80000004                    // command_id submit_sm_resp
00000045                    // command_status ESME_RSUBMITFAIL
0000002a                    // sequence_number
`

// hexDataSMResp: data_sm_resp with a message_id and a TLV after it.
const hexDataSMResp = `
00000019                    // command_length 25
80000103                    // command_id data_sm_resp
00000000                    // command_status
00000009                    // sequence_number
"abc" 00                    // message_id
0425 0001 00                // tlv_delivery_failure_reason
`
