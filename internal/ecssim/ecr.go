package ecssim

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	ecrtypes "github.com/aws/aws-sdk-go-v2/service/ecr/types"
)

// The manifest media types ECR stores
// (https://docs.aws.amazon.com/AmazonECR/latest/userguide/image-manifest-formats.html).
const (
	mediaOCIIndex    = "application/vnd.oci.image.index.v1+json"
	mediaOCIManifest = "application/vnd.oci.image.manifest.v1+json"
	mediaOCIConfig   = "application/vnd.oci.image.config.v1+json"
	mediaOCILayer    = "application/vnd.oci.image.layer.v1.tar+gzip"
)

// newImage builds an image's manifest: an OCI image index listing its
// platforms (and buildx's attestation manifest, platform unknown/unknown,
// annotated vnd.docker.reference.type attestation-manifest), or a plain
// OCI image manifest when it has none. The digest is the manifest's
// sha256, as a registry computes it.
func newImage(si ScenarioImage, pushedAt time.Time) (*image, error) {
	fake := func(seed string) string {
		sum := sha256.Sum256([]byte(seed))
		return "sha256:" + hex.EncodeToString(sum[:])
	}
	type descriptor struct {
		MediaType   string            `json:"mediaType"`
		Digest      string            `json:"digest"`
		Size        int64             `json:"size"`
		Annotations map[string]string `json:"annotations,omitempty"`
		Platform    map[string]string `json:"platform,omitempty"`
	}
	seed := strings.Join(si.Tags, ",") + "@" + pushedAt.String()
	var doc any
	mediaType := mediaOCIManifest
	if len(si.Platforms) == 0 {
		doc = struct {
			SchemaVersion int          `json:"schemaVersion"`
			MediaType     string       `json:"mediaType"`
			Config        descriptor   `json:"config"`
			Layers        []descriptor `json:"layers"`
		}{2, mediaOCIManifest, descriptor{MediaType: mediaOCIConfig, Digest: fake(seed + "config"), Size: 1470},
			[]descriptor{{MediaType: mediaOCILayer, Digest: fake(seed + "layer"), Size: 3_623_807}}}
	} else {
		mediaType = mediaOCIIndex
		var ms []descriptor
		for _, p := range si.Platforms {
			parts := strings.Split(p, "/")
			plat := map[string]string{"os": parts[0], "architecture": parts[1]}
			if len(parts) == 3 {
				plat["variant"] = parts[2]
			}
			ms = append(ms, descriptor{MediaType: mediaOCIManifest, Digest: fake(seed + p), Size: 1_234, Platform: plat})
		}
		if si.Attestation {
			for _, m := range ms[:len(si.Platforms)] {
				ms = append(ms, descriptor{MediaType: mediaOCIManifest, Digest: fake(seed + "att" + m.Digest), Size: 566,
					Annotations: map[string]string{"vnd.docker.reference.digest": m.Digest, "vnd.docker.reference.type": "attestation-manifest"},
					Platform:    map[string]string{"os": "unknown", "architecture": "unknown"}})
			}
		}
		doc = struct {
			SchemaVersion int          `json:"schemaVersion"`
			MediaType     string       `json:"mediaType"`
			Manifests     []descriptor `json:"manifests"`
		}{2, mediaOCIIndex, ms}
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(b)
	return &image{
		tags:      append([]string(nil), si.Tags...),
		digest:    "sha256:" + hex.EncodeToString(sum[:]),
		manifest:  string(b),
		mediaType: mediaType,
		size:      3_625_277,
		pushedAt:  pushedAt,
	}, nil
}

func errRepositoryNotFound(name, registry string) *apiError {
	return &apiError{Code: "RepositoryNotFoundException", Status: 400,
		Message: fmt.Sprintf("The repository with name '%s' does not exist in the registry with id '%s'", name, registry)}
}

// repository finds a repository (registryID "" is the account's own).
func (a *accountState) repository(registryID, name string) (*repository, *apiError) {
	reg := orDefault(registryID, a.account)
	repo := a.repos[reg+"/"+name]
	if repo == nil {
		return nil, errRepositoryNotFound(name, reg)
	}
	return repo, nil
}

// find returns the image an image ID names (by tag, by digest, or both,
// which must agree), or the failure code and reason of BatchGetImage.
func (r *repository) find(id ecrtypes.ImageIdentifier) (*image, ecrtypes.ImageFailureCode, string) {
	tag, digest := aws.ToString(id.ImageTag), aws.ToString(id.ImageDigest)
	if tag == "" && digest == "" {
		return nil, ecrtypes.ImageFailureCodeMissingDigestAndTag, "Invalid request parameters: both tag and digest cannot be null"
	}
	for _, img := range r.images {
		if digest != "" && img.digest != digest {
			continue
		}
		if tag != "" && !contains(img.tags, tag) {
			if digest != "" {
				return nil, ecrtypes.ImageFailureCodeImageTagDoesNotMatchDigest, "Invalid image tag for image digest"
			}
			continue
		}
		return img, "", ""
	}
	return nil, ecrtypes.ImageFailureCodeImageNotFound, "Requested image not found"
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func (r *repository) detail(img *image) ecrtypes.ImageDetail {
	d := ecrtypes.ImageDetail{
		RegistryId:             aws.String(r.registryID),
		RepositoryName:         aws.String(r.name),
		ImageDigest:            aws.String(img.digest),
		ImageSizeInBytes:       aws.Int64(img.size),
		ImagePushedAt:          aws.Time(img.pushedAt),
		ImageManifestMediaType: aws.String(img.mediaType),
	}
	if len(img.tags) > 0 {
		d.ImageTags = append([]string(nil), img.tags...)
	}
	if img.mediaType == mediaOCIManifest {
		d.ArtifactMediaType = aws.String(mediaOCIConfig)
	}
	return d
}

// ecrDescribeImages answers DescribeImages
// (https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_DescribeImages.html):
// with imageIds, the details of each (an ID that matches nothing is an
// ImageNotFoundException); without, one page (maxResults 1–1000, default
// 100) of the repository's images filtered by filter.tagStatus (TAGGED,
// UNTAGGED or ANY), in push order.
func (s *Sim) ecrDescribeImages(body []byte) (any, *apiError) {
	in := new(ecr.DescribeImagesInput)
	if err := decodeStrict(body, in); err != nil {
		return nil, err.(*apiError)
	}
	if aws.ToString(in.RepositoryName) == "" {
		return nil, errInvalidParam("1 validation error detected: Value null at 'repositoryName' failed to satisfy constraint: Member must not be null")
	}
	repo, aerr := s.acct.repository(aws.ToString(in.RegistryId), aws.ToString(in.RepositoryName))
	if aerr != nil {
		return nil, aerr
	}
	out := &ecr.DescribeImagesOutput{ImageDetails: []ecrtypes.ImageDetail{}}
	if len(in.ImageIds) > 0 {
		if in.MaxResults != nil || in.NextToken != nil {
			return nil, errInvalidParam("maxResults and nextToken cannot be used with imageIds")
		}
		for _, id := range in.ImageIds {
			img, code, _ := repo.find(id)
			if img == nil {
				if code == ecrtypes.ImageFailureCodeMissingDigestAndTag {
					return nil, errInvalidParam("Invalid request parameters: both tag and digest cannot be null")
				}
				return nil, &apiError{Code: "ImageNotFoundException", Status: 400, Message: fmt.Sprintf(
					"The image with imageId {imageDigest:'%s', imageTag:'%s'} does not exist within the repository with name '%s' in the registry with id '%s'",
					orDefault(aws.ToString(id.ImageDigest), "null"), orDefault(aws.ToString(id.ImageTag), "null"), repo.name, repo.registryID)}
			}
			out.ImageDetails = append(out.ImageDetails, repo.detail(img))
		}
		return encodeJSONBody(out)
	}
	limit := 100
	if in.MaxResults != nil {
		if *in.MaxResults < 1 || *in.MaxResults > 1000 {
			return nil, errInvalidParam("1 validation error detected: Value '%d' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 1000", *in.MaxResults)
		}
		limit = int(*in.MaxResults)
	}
	status := ecrtypes.TagStatusAny
	if in.Filter != nil && in.Filter.TagStatus != "" {
		status = in.Filter.TagStatus
	}
	var match []*image
	for _, img := range repo.images {
		tagged := len(img.tags) > 0
		if (status == ecrtypes.TagStatusTagged && !tagged) || (status == ecrtypes.TagStatusUntagged && tagged) {
			continue
		}
		match = append(match, img)
	}
	start, end, next, ok := page(aws.ToString(in.NextToken), len(match), limit)
	if !ok {
		return nil, errInvalidParam("Invalid parameter at 'nextToken' failed to satisfy constraint: 'Invalid token'")
	}
	for _, img := range match[start:end] {
		out.ImageDetails = append(out.ImageDetails, repo.detail(img))
	}
	if next != "" {
		out.NextToken = aws.String(next)
	}
	return encodeJSONBody(out)
}

// ecrBatchGetImage answers BatchGetImage
// (https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_BatchGetImage.html):
// each found image with its manifest and media type, each other ID as a
// failure (ImageNotFound, ImageTagDoesNotMatchDigest, MissingDigestAndTag).
// The stored manifest is returned whatever acceptedMediaTypes says.
func (s *Sim) ecrBatchGetImage(body []byte) (any, *apiError) {
	in := new(ecr.BatchGetImageInput)
	if err := decodeStrict(body, in); err != nil {
		return nil, err.(*apiError)
	}
	if aws.ToString(in.RepositoryName) == "" || len(in.ImageIds) == 0 {
		return nil, errInvalidParam("1 validation error detected: repositoryName and imageIds must not be empty")
	}
	if len(in.ImageIds) > 100 {
		return nil, errInvalidParam("1 validation error detected: Value at 'imageIds' failed to satisfy constraint: Member must have length less than or equal to 100")
	}
	repo, aerr := s.acct.repository(aws.ToString(in.RegistryId), aws.ToString(in.RepositoryName))
	if aerr != nil {
		return nil, aerr
	}
	out := &ecr.BatchGetImageOutput{Images: []ecrtypes.Image{}, Failures: []ecrtypes.ImageFailure{}}
	for _, id := range in.ImageIds {
		img, code, reason := repo.find(id)
		if img == nil {
			out.Failures = append(out.Failures, ecrtypes.ImageFailure{ImageId: &ecrtypes.ImageIdentifier{ImageTag: id.ImageTag, ImageDigest: id.ImageDigest},
				FailureCode: code, FailureReason: aws.String(reason)})
			continue
		}
		out.Images = append(out.Images, ecrtypes.Image{
			RegistryId:             aws.String(repo.registryID),
			RepositoryName:         aws.String(repo.name),
			ImageId:                &ecrtypes.ImageIdentifier{ImageDigest: aws.String(img.digest), ImageTag: id.ImageTag},
			ImageManifest:          aws.String(img.manifest),
			ImageManifestMediaType: aws.String(img.mediaType),
		})
	}
	return encodeJSONBody(out)
}

// encodeJSONBody encodes an SDK output in ECS's lowerCamelCase
// awsJson1_1 form (ECR and CloudWatch Logs use the same member names).
func encodeJSONBody(v any) (any, *apiError) {
	b, err := encodeJSON(v)
	if err != nil {
		return nil, &apiError{Code: "ServerException", Message: err.Error(), Status: 500}
	}
	return wireBody{contentType: "application/x-amz-json-1.1", body: b}, nil
}
