package orgsim

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"time"
)

// targetPrefix is the X-Amz-Target prefix of every Organizations operation.
const targetPrefix = "AWSOrganizationsV20161128."

const contentType = "application/x-amz-json-1.1"

// epoch marshals a time as AWS JSON protocols do: a JSON number of seconds since the epoch, with milliseconds.
type epoch time.Time

func (e epoch) MarshalJSON() ([]byte, error) {
	ms := time.Time(e).UnixMilli()
	return []byte(strconv.FormatFloat(float64(ms)/1000, 'f', 3, 64)), nil
}

type wireParty struct {
	Id   string `json:"Id"`
	Type string `json:"Type"`
}

type wireResource struct {
	Type      string         `json:"Type"`
	Value     string         `json:"Value"`
	Resources []wireResource `json:"Resources,omitempty"`
}

type wireHandshake struct {
	Id                  string         `json:"Id"`
	Arn                 string         `json:"Arn"`
	Parties             []wireParty    `json:"Parties"`
	State               string         `json:"State"`
	RequestedTimestamp  epoch          `json:"RequestedTimestamp"`
	ExpirationTimestamp epoch          `json:"ExpirationTimestamp"`
	Action              string         `json:"Action"`
	Resources           []wireResource `json:"Resources"`
}

type wireAccount struct {
	Id              string `json:"Id"`
	Arn             string `json:"Arn"`
	Email           string `json:"Email"`
	Name            string `json:"Name"`
	State           string `json:"State"`
	JoinedMethod    string `json:"JoinedMethod"`
	JoinedTimestamp epoch  `json:"JoinedTimestamp"`
}

type wireOrganization struct {
	Id                 string `json:"Id"`
	Arn                string `json:"Arn"`
	FeatureSet         string `json:"FeatureSet"`
	MasterAccountArn   string `json:"MasterAccountArn"`
	MasterAccountId    string `json:"MasterAccountId"`
	MasterAccountEmail string `json:"MasterAccountEmail"`
}

// Operation inputs, as the SDK serializes them.
type (
	// handshakeParty is the Target of an invitation.
	handshakeParty struct {
		Id   string `json:"Id"`
		Type string `json:"Type"`
	}
	inviteInput struct {
		Target *handshakeParty `json:"Target"`
		Notes  *string         `json:"Notes"`
		Tags   []struct {
			Key   string `json:"Key"`
			Value string `json:"Value"`
		} `json:"Tags"`
	}
	listInput struct {
		Filter *struct {
			ActionType        string `json:"ActionType"`
			ParentHandshakeId string `json:"ParentHandshakeId"`
		} `json:"Filter"`
		NextToken  *string `json:"NextToken"`
		MaxResults *int    `json:"MaxResults"`
	}
	handshakeInput struct {
		HandshakeId string `json:"HandshakeId"`
	}
	accountInput struct {
		AccountId string `json:"AccountId"`
	}
	pageInput struct {
		NextToken  *string `json:"NextToken"`
		MaxResults *int    `json:"MaxResults"`
	}
	// Timestamps come as JSON numbers of epoch seconds with milliseconds (smithy-go's JSON codec writes
	// FormatEpochSeconds); a string fails to decode, as it would on AWS.
	transferInviteInput struct {
		Type           string          `json:"Type"`
		Target         *handshakeParty `json:"Target"`
		Notes          *string         `json:"Notes"`
		StartTimestamp *float64        `json:"StartTimestamp"`
		SourceName     *string         `json:"SourceName"`
		Tags           []struct {
			Key   string `json:"Key"`
			Value string `json:"Value"`
		} `json:"Tags"`
	}
	transferListInput struct {
		Type       string  `json:"Type"`
		Id         *string `json:"Id"`
		NextToken  *string `json:"NextToken"`
		MaxResults *int    `json:"MaxResults"`
	}
	transferInput struct {
		Id           string   `json:"Id"`
		EndTimestamp *float64 `json:"EndTimestamp"`
	}
)

// fromEpoch reads an epoch-seconds timestamp to the millisecond, the precision the SDK sends.
func fromEpoch(f float64) time.Time { return time.UnixMilli(int64(math.Round(f * 1000))).UTC() }

type wireParticipant struct {
	ManagementAccountId    string `json:"ManagementAccountId"`
	ManagementAccountEmail string `json:"ManagementAccountEmail"`
}

type wireTransfer struct {
	Arn               string          `json:"Arn"`
	Name              string          `json:"Name"`
	Id                string          `json:"Id"`
	Type              string          `json:"Type"`
	Status            string          `json:"Status"`
	Source            wireParticipant `json:"Source"`
	Target            wireParticipant `json:"Target"`
	StartTimestamp    epoch           `json:"StartTimestamp"`
	EndTimestamp      *epoch          `json:"EndTimestamp,omitempty"`
	ActiveHandshakeId string          `json:"ActiveHandshakeId,omitempty"`
}

// apiError is an error answer of the service, with the modeled members AWS sends for some codes.
type apiError struct {
	Status  int
	Code    string
	Message string
	Reason  string // InvalidInput, ConstraintViolation, HandshakeConstraintViolation
	Type    string // TooManyRequests
}

func (e *apiError) Error() string { return e.Code + ": " + e.Message }

// statusOf gives each error code the status AWS models for it. TooManyRequests and ConcurrentModification use
// 400 because the real service was seen answering so, and clients must cope.
var statusOf = map[string]int{
	"AccessDeniedException":                            http.StatusForbidden,
	"AccountAlreadyClosedException":                    http.StatusConflict,
	"AccountNotFoundException":                         http.StatusNotFound,
	"AccountOwnerNotVerifiedException":                 http.StatusForbidden,
	"AWSOrganizationsNotInUseException":                http.StatusNotFound,
	"ConcurrentModificationException":                  http.StatusBadRequest,
	"ConstraintViolationException":                     http.StatusConflict,
	"DuplicateHandshakeException":                      http.StatusConflict,
	"FinalizingOrganizationException":                  http.StatusConflict,
	"HandshakeAlreadyInStateException":                 http.StatusConflict,
	"HandshakeConstraintViolationException":            http.StatusConflict,
	"HandshakeNotFoundException":                       http.StatusNotFound,
	"InvalidHandshakeTransitionException":              http.StatusConflict,
	"InvalidInputException":                            http.StatusBadRequest,
	"InvalidResponsibilityTransferTransitionException": http.StatusConflict,
	"ResponsibilityTransferAlreadyInStatusException":   http.StatusConflict,
	"ResponsibilityTransferNotFoundException":          http.StatusNotFound,
	"ServiceException":                                 http.StatusInternalServerError,
	"TooManyRequestsException":                         http.StatusBadRequest,
	"UnknownOperationException":                        http.StatusBadRequest,
	"SerializationException":                           http.StatusBadRequest,
}

func newError(code, format string, args ...any) *apiError {
	msg := format
	if len(args) > 0 {
		msg = fmt.Sprintf(format, args...)
	}
	status, ok := statusOf[code]
	if !ok {
		status = http.StatusBadRequest
	}
	return &apiError{Status: status, Code: code, Message: msg}
}

func withReason(e *apiError, reason string) *apiError {
	e.Reason = reason
	return e
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	b, err := json.Marshal(body)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"__type":"ServiceException","Message":"the simulator could not encode its answer"}`)
	}
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func writeError(w http.ResponseWriter, e *apiError) {
	body := map[string]string{"__type": e.Code, "Message": e.Message}
	if e.Reason != "" {
		body["Reason"] = e.Reason
	}
	if e.Type != "" {
		body["Type"] = e.Type
	}
	w.Header().Set("X-Amzn-ErrorType", e.Code)
	writeJSON(w, e.Status, body)
}
