package signinlog

import (
	"encoding/json"
	"strconv"
)

// CSVHeader is the column row of sign-in CSV downloads: the columns of the
// sign-in log table admins read, then the identifiers that join records.
var CSVHeader = []string{"createdDateTime", "userPrincipalName", "userDisplayName", "appDisplayName", "status",
	"ipAddress", "city", "countryOrRegion", "errorCode", "failureReason", "conditionalAccessStatus",
	"clientAppUsed", "correlationId", "id"}

// csvFields is the part of a record the CSV shows.
type csvFields struct {
	ID                      string   `json:"id"`
	CreatedDateTime         string   `json:"createdDateTime"`
	UserPrincipalName       string   `json:"userPrincipalName"`
	UserDisplayName         string   `json:"userDisplayName"`
	AppDisplayName          string   `json:"appDisplayName"`
	IPAddress               string   `json:"ipAddress"`
	ClientAppUsed           string   `json:"clientAppUsed"`
	CorrelationID           string   `json:"correlationId"`
	ConditionalAccessStatus string   `json:"conditionalAccessStatus"`
	Location                Location `json:"location"`
	Status                  Status   `json:"status"`
}

// CSVRow turns a stored record (its JSON) into a CSV row matching CSVHeader.
func CSVRow(body []byte) ([]string, error) {
	var f csvFields
	if err := json.Unmarshal(body, &f); err != nil {
		return nil, err
	}
	result := "failure"
	if f.Status.ErrorCode == 0 {
		result = "success"
	}
	return []string{f.CreatedDateTime, f.UserPrincipalName, f.UserDisplayName, f.AppDisplayName, result, f.IPAddress,
		f.Location.City, f.Location.CountryOrRegion, strconv.Itoa(f.Status.ErrorCode), f.Status.FailureReason,
		f.ConditionalAccessStatus, f.ClientAppUsed, f.CorrelationID, f.ID}, nil
}
